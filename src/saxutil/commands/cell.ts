/**
 * `create` and `delete` of a cell, on the sax root directly (no RPC).
 *
 * `create` checks its admin ACL with the admin's ACL policy before touching the disk, then does what
 * admin_config does (cell directory and config.proto) and adds the placeholder location.proto that tells
 * clients no admin has started yet. Under Saxml's open-source policy, which every sax-ts admin uses,
 * every non-empty ACL name is refused, so `create` fails there exactly as Saxml's does and admin_config
 * is the way to create cells. `delete` asks for confirmation and then fails: neither Saxml's open-source
 * build nor our file-system roots can delete a cell directory.
 */
import { ossAclPolicy, type AclPolicy } from "../../admin/acl.js";
import { cellDir, LOCATION_PLACEHOLDER, writeConfig, writeLocation } from "../../common/cell-layout.js";
import { SaxError } from "../../common/errors.js";
import type { FsRoot } from "../../common/fs-root.js";
import { parseCellId, type CellId } from "../../common/naming.js";
import { openFsRoot } from "../../common/open-fs-root.js";
import { defineCommand, expectArgs } from "../command.js";
import { attempt, withContext } from "../failure.js";

function cellIdArg(text: string): CellId {
  try {
    return parseCellId(text);
  } catch (err) {
    throw withContext(`invalid cell ID ${text}, should be /sax/<cell>`, err);
  }
}

/**
 * Creates a cell: refuses an existing one, validates the ACL with `policy`, then writes the cell's
 * config.proto and a placeholder location.proto.
 */
export async function createCell(
  root: FsRoot,
  cell: CellId,
  fsRoot: string,
  adminAcl: string,
  policy: AclPolicy = ossAclPolicy,
): Promise<void> {
  if ((await root.kindOf(cellDir(cell))) !== "missing") {
    throw new SaxError("ALREADY_EXISTS", `Sax cell ${cell.full} already exists under ${root.url}`);
  }
  policy.validateName(adminAcl);
  await writeConfig(root, cell, { fsRoot, adminAcl });
  await writeLocation(root, cell, LOCATION_PLACEHOLDER);
}

/** The `create` command. */
export const createCommand = defineCommand({
  name: "create",
  synopsis: "Create a Sax cell.",
  usage:
    "create <cell ID> <fs root> <admin ACL>:\n" +
    "\tCreate a cell under the sax root, keeping the admin's state in <fs root>.\n" +
    "\tThe admin ACL must be a name the cell's ACL policy supports; with the open-source\n" +
    "\tpolicy none is, so create cells with admin_config instead.\n",
  flags: {},
  async run({ args, env }) {
    expectArgs(
      args,
      3,
      3,
      "provide a cell ID (e.g. /sax/bar), a file system path for its state and an admin ACL",
    );
    const [cellText = "", fsRoot = "", adminAcl = ""] = args;
    const cell = cellIdArg(cellText);
    const instead = `admin_config --sax_cell=${cell.full} --fs_root=${fsRoot || "<fs root>"} creates it`;
    if (adminAcl === "") {
      throw new SaxError("INVALID_ARGUMENT", `provide a non-empty admin ACL for ${cell.full}; ${instead}`);
    }
    await attempt(`cannot create cell ${cell.full} (${instead})`, async () =>
      createCell(await openFsRoot(env.saxRoot()), cell, fsRoot, adminAcl),
    );
  },
});

/** The `delete` command. */
export const deleteCommand = defineCommand({
  name: "delete",
  synopsis: "Delete a Sax cell.",
  usage:
    "delete <cell ID>:\n" +
    "\tDelete a cell after confirmation. Cell directories cannot be deleted by saxutil (as in\n" +
    "\tSaxml's open-source build): stop the cell's admin and remove the directory by hand.\n",
  flags: {},
  async run({ args, env }) {
    expectArgs(args, 1, 1, "provide one cell ID (e.g. /sax/bar)");
    const cellText = args[0] ?? "";
    env.stdout.write(`Are you sure you want to delete ${cellText}? [y|n]: `);
    const answer = await env.readLine();
    if (answer === undefined) throw new SaxError("CANCELLED", "no answer on stdin; deletion canceled");
    if (!["y", "yes"].includes(answer.trim().toLowerCase())) {
      throw new SaxError("CANCELLED", "Deletion canceled");
    }
    const cell = cellIdArg(cellText);
    const root = await openFsRoot(env.saxRoot());
    const dir = `${root.url.replace(/\/+$/, "")}/${cellDir(cell)}`;
    if ((await root.kindOf(cellDir(cell))) !== "dir") {
      throw new SaxError("NOT_FOUND", `Sax cell ${cell.full} does not exist: ${dir} is not a directory`);
    }
    throw new SaxError(
      "UNIMPLEMENTED",
      `cannot delete cell ${cell.full}: saxutil does not delete cell directories; ` +
        `stop its admin_server and remove ${dir} yourself`,
    );
  },
});
