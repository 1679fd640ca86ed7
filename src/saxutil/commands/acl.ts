/**
 * `getacl` and `setacl`: the admin ACL of a cell (its config.proto, no RPC) or of a model, and a
 * model's per-data-method ACLs (through List and Update).
 *
 * ACL names are checked with the same policy as the admin's (Saxml's open-source one): only `""` can be
 * set on a model, and a cell's ACL can never be changed, because every non-empty name is unsupported and
 * a config cannot be saved with an empty one.
 */
import { ossAclPolicy } from "../../admin/acl.js";
import { readConfig, writeConfig } from "../../common/cell-layout.js";
import { SaxError } from "../../common/errors.js";
import { parseCellOrModel, type CellOrModel } from "../../common/naming.js";
import { openFsRoot } from "../../common/open-fs-root.js";
import { defineCommand, JSON_FLAG, UsageError, wantsJson } from "../command.js";
import { attempt, withContext } from "../failure.js";
import { writeJson } from "../output.js";

/** fs_root values a cell config may hold when its ACL is rewritten. */
const FS_ROOT_PATTERN = /^[a-zA-Z0-9_./=-]+$/;

function cellOrModelArg(name: string): CellOrModel {
  try {
    return parseCellOrModel(name);
  } catch (err) {
    throw withContext(`${name} is neither a cell ID (/sax/<cell>) nor a model ID (/sax/<cell>/<model>)`, err);
  }
}

/** The `getacl` command. */
export const getAclCommand = defineCommand({
  name: "getacl",
  synopsis: "Get ACLs for a cell or model.",
  usage:
    "getacl <cell ID> | <model ID> [all | <method>]:\n" +
    "\tPrint the admin ACL of a cell or model, or a model's data-method ACLs: all of them\n" +
    "\t('all') or one method's (e.g. lm.generate).\n" +
    "\tExamples:\n" +
    "\t\tsaxutil getacl /sax/test\n" +
    "\t\tsaxutil getacl /sax/test/lm all\n",
  flags: { ...JSON_FLAG },
  async run(call) {
    const { args, env } = call;
    if (args.length < 1 || args.length > 2) {
      throw new UsageError("provide a cell or model ID, and optionally 'all' or a method name");
    }
    const target = cellOrModelArg(args[0] ?? "");
    const method = args[1];
    const json = wantsJson(call);
    if (target.kind === "cell") {
      if (method !== undefined) {
        throw new SaxError(
          "INVALID_ARGUMENT",
          `cells have no data-method ACLs; give a model ID instead of ${target.cell.full}`,
        );
      }
      const acl = await attempt(`cannot read the ACL of ${target.cell.full}`, () =>
        env.sax().admin(target.cell.full).cellAcl(),
      );
      if (json) return writeJson(env.stdout, { adminAcl: acl });
      env.stdout.write(`${acl || "No admin ACLs set for cell."}\n`);
      return;
    }
    const id = target.model;
    const acls = await attempt(
      `cannot read the ACLs of ${id.full}`,
      () => env.sax().admin(id.cell.full).getAcl(id.full, env.deadline()),
      id.full,
    );
    if (method === undefined) {
      if (json) return writeJson(env.stdout, { adminAcl: acls.adminAcl });
      env.stdout.write(`${acls.adminAcl || "No admin ACLs set for model."}\n`);
      return;
    }
    const dataAcls = acls.dataAcls;
    if (json) {
      const selected = method === "all" ? (dataAcls ?? {}) : pick(dataAcls ?? {}, method);
      return writeJson(env.stdout, { dataAcls: selected });
    }
    if (dataAcls === undefined) return env.stdout.write("No ACLs set for model.\n");
    if (method === "all") {
      const lines = Object.keys(dataAcls)
        .sort()
        .map((m) => `${m}: ${dataAcls[m]}\n`);
      env.stdout.write(lines.join(""));
      return;
    }
    env.stdout.write(`${Object.hasOwn(dataAcls, method) ? dataAcls[method] : "No ACLs set for method."}\n`);
  },
});

function pick(acls: Readonly<Record<string, string>>, method: string): Record<string, string> {
  const acl = acls[method];
  return Object.hasOwn(acls, method) && acl !== undefined ? { [method]: acl } : {};
}

/** The `setacl` command. */
export const setAclCommand = defineCommand({
  name: "setacl",
  synopsis: "Set ACLs for a cell or model.",
  usage:
    "setacl <cell ID> <ACL> | <model ID> [<method>] <ACL>:\n" +
    "\tSet the admin ACL of a cell or model, or the ACL of one data method of a model\n" +
    "\t(an empty ACL removes a method's entry).\n" +
    "\tExamples:\n" +
    "\t\tsaxutil setacl /sax/test/lm ''\n" +
    "\t\tsaxutil setacl /sax/test/lm lm.generate ''\n",
  flags: {},
  async run({ args, env }) {
    if (args.length < 2 || args.length > 3) {
      throw new UsageError("provide a cell or model ID, optionally a data method, and an ACL");
    }
    const target = cellOrModelArg(args[0] ?? "");
    const acl = args.at(-1) ?? "";
    const method = args.length === 3 ? args[1] : undefined;
    if (target.kind === "cell") {
      if (method !== undefined) {
        throw new SaxError(
          "INVALID_ARGUMENT",
          `cells have no data-method ACLs; give a model ID instead of ${target.cell.full}`,
        );
      }
      const cell = target.cell;
      const rewrite = `admin_config --sax_cell=${cell.full} --fs_root=<fs root> --admin_acl=<acl> rewrites it`;
      await attempt(`cannot set the ACL of ${cell.full} (${rewrite})`, async () => {
        const root = await openFsRoot(env.saxRoot());
        const config = await readConfig(root, cell);
        if (!FS_ROOT_PATTERN.test(config.fsRoot)) {
          throw new SaxError(
            "INVALID_ARGUMENT",
            `the cell's fs_root ${JSON.stringify(config.fsRoot)} must match ${FS_ROOT_PATTERN.source}`,
          );
        }
        ossAclPolicy.validateName(acl);
        await writeConfig(root, cell, { ...config, adminAcl: acl });
      });
      return;
    }
    const id = target.model;
    const what = method === undefined ? `the admin ACL of ${id.full}` : `the ${method} ACL of ${id.full}`;
    await attempt(
      `cannot set ${what}`,
      () =>
        env
          .sax()
          .admin(id.cell.full)
          .setAcl(id.full, acl, { ...env.deadline(), ...(method === undefined ? {} : { method }) }),
      id.full,
    );
  },
});
