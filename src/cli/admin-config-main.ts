/**
 * admin_config: writes a cell's config.proto once (creating the cell directory).
 */
import { Command } from "commander";
import { writeConfig } from "../common/cell-layout.js";
import { parseCellId } from "../common/naming.js";
import { openFsRoot } from "../common/open-fs-root.js";
import { adminConfigOptionsSchema } from "../config/admin-options.js";
import { helpOf, parseConfig } from "../config/parse.js";
import { parseWithEnv } from "./env-flags.js";
import { resolveSaxRoot, runMain } from "./run-main.js";

const describe = (key: keyof typeof adminConfigOptionsSchema.shape) => helpOf(adminConfigOptionsSchema, key);

runMain("admin_config", async () => {
  const flags = parseWithEnv(
    new Command("admin_config")
      .description("Create a Sax cell and write its config (fs_root, admin ACL).")
      .option("--sax_cell <cell>", describe("saxCell"))
      .option("--sax_root <root>", describe("saxRoot"))
      .option("--fs_root <root>", describe("fsRoot"))
      .option("--admin_acl <acl>", describe("adminAcl"), "acl/all"),
  ).opts<Record<string, string | undefined>>();
  const options = parseConfig(
    adminConfigOptionsSchema,
    {
      saxCell: flags.sax_cell,
      saxRoot: resolveSaxRoot(flags.sax_root),
      fsRoot: flags.fs_root,
      adminAcl: flags.admin_acl,
    },
    "admin_config flags",
  );
  const cell = parseCellId(options.saxCell);
  await writeConfig(await openFsRoot(options.saxRoot), cell, {
    fsRoot: options.fsRoot,
    adminAcl: options.adminAcl,
  });
});
