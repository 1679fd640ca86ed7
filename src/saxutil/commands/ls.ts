/**
 * `ls /sax | /sax/<cell> | /sax/<cell>/<model>`: the cells under the sax root, the models of a cell, or
 * one model's details and data-method ACLs, as tables, CSV (`-csv`) or JSON.
 */
import type { ListedModel } from "../../client/index.js";
import { SaxError } from "../../common/errors.js";
import { parseCellId, parseModelId, SAX_PREFIX, type CellId, type ModelId } from "../../common/naming.js";
import { openFsRoot } from "../../common/open-fs-root.js";
import { defineCommand, expectArgs, JSON_FLAG, wantsJson, type CommandCall } from "../command.js";
import { attempt } from "../failure.js";
import { boolFlag } from "../go-flags.js";
import { writeJson, writeListing } from "../output.js";

const LS_FLAGS = {
  ...JSON_FLAG,
  csv: boolFlag(false, "Print CSV lines (a '# ' header line, then comma-joined values) instead of tables."),
  details: boolFlag(
    true,
    "For a model, print its details table. For a cell, -details adds the models' methods.",
  ),
  acls: boolFlag(true, "For a model, print its data-method ACLs table."),
} as const;

type LsCall = CommandCall<typeof LS_FLAGS>;

/** The `ls` command. */
export const lsCommand = defineCommand({
  name: "ls",
  synopsis: "List published models.",
  usage:
    "ls [-csv] [-details] [-acls] /sax | /sax/<cell> | /sax/<cell>/<model>:\n" +
    "\tList the cells under the sax root, the models published in a cell, or the details\n" +
    "\t(path, checkpoint, replicas, methods) and data-method ACLs of one model.\n",
  flags: LS_FLAGS,
  async run(call: LsCall) {
    expectArgs(call.args, 1, 1, "provide /sax, /sax/<cell> or /sax/<cell>/<model>");
    const target = call.args[0] ?? "";
    if (target === `/${SAX_PREFIX}`) return listCells(call);
    const cell = tryParse(() => parseCellId(target));
    if (cell) return listModels(call, cell);
    const model = tryParse(() => parseModelId(target));
    if (model) return showModel(call, model);
    throw new SaxError(
      "INVALID_ARGUMENT",
      `invalid model ID ${target}: give /sax, /sax/<cell> or /sax/<cell>/<model> ` +
        "(names match ^[a-z]+[a-z0-9-_]*$)",
    );
  },
});

function tryParse<T>(parse: () => T): T | undefined {
  try {
    return parse();
  } catch {
    return undefined;
  }
}

async function listCells(call: LsCall): Promise<void> {
  const root = call.env.saxRoot();
  const cells = await attempt(`cannot list the cells under ${root}`, async () => {
    const fs = await openFsRoot(root);
    if ((await fs.kindOf(SAX_PREFIX)) !== "dir") {
      throw new SaxError(
        "NOT_FOUND",
        `${root}/${SAX_PREFIX} is not a directory; create a cell with admin_config`,
      );
    }
    return fs.listDirs(SAX_PREFIX);
  });
  if (wantsJson(call)) return writeJson(call.env.stdout, { cells });
  const rows = cells.map((cell, i) => [String(i), cell]);
  writeListing(call.env.stdout, { header: ["#", "Cell"], rows }, call.flags.csv);
}

async function listModels(call: LsCall, cell: CellId): Promise<void> {
  const models = await attempt(`cannot list the models of ${cell.full}`, () =>
    call.env.sax().admin(cell.full).listAll(call.env.deadline()),
  );
  const shortName = (model: ListedModel) => model.modelId.slice(cell.full.length + 1);
  if (wantsJson(call)) {
    const entries = models.map((m) => ({ id: m.modelId, name: shortName(m), methods: m.methodNames }));
    return writeJson(call.env.stdout, { cell: cell.full, models: entries });
  }
  // As in Saxml, methods are shown only when -details is given explicitly (its default is true).
  const withMethods = call.flags.details && call.given.has("details");
  const header = withMethods ? ["#", "Model ID", "Methods"] : ["#", "Model ID"];
  const rows = models.map((model, i) => {
    const row = [String(i), shortName(model)];
    return withMethods ? [...row, model.methodNames.join(", ")] : row;
  });
  writeListing(call.env.stdout, { header, rows }, call.flags.csv);
}

async function showModel(call: LsCall, id: ModelId): Promise<void> {
  const { details, acls } = call.flags;
  if (!details && !acls) {
    throw new SaxError(
      "INVALID_ARGUMENT",
      "nothing to print with both -details=false and -acls=false; leave one of them on",
    );
  }
  const model = await attempt(
    `cannot list model ${id.full}`,
    () => call.env.sax().admin(id.cell.full).list(id.full, call.env.deadline()),
    id.full,
  );
  const dataAcls = model.dataAcls ?? {};
  if (wantsJson(call)) return writeJson(call.env.stdout, { model: modelJson(id, model) });
  if (details) {
    // One replica, chosen at random as Saxml does, stands for all of them.
    const addresses = model.modeletAddresses;
    const selected = addresses[Math.floor(Math.random() * addresses.length)] ?? "";
    const header = [
      "Model",
      "Model Path",
      "Checkpoint Path",
      "# of Replicas",
      "(Selected) ReplicaAddress",
      "Methods",
    ];
    const row = [
      id.name,
      model.modelPath,
      model.checkpointPath,
      String(addresses.length),
      selected,
      model.methodNames.join(", "),
    ];
    writeListing(call.env.stdout, { header, rows: [row] }, call.flags.csv);
  }
  if (acls) {
    const rows = Object.keys(dataAcls)
      .sort()
      .map((method) => [method, dataAcls[method] ?? ""]);
    writeListing(call.env.stdout, { header: ["Method", "ACL"], rows }, call.flags.csv);
  }
}

function modelJson(id: ModelId, model: ListedModel) {
  return {
    id: id.full,
    name: id.name,
    modelPath: model.modelPath,
    checkpointPath: model.checkpointPath,
    requestedReplicas: model.numReplicas,
    assignedReplicas: model.modeletAddresses.length,
    replicaAddresses: model.modeletAddresses,
    methods: model.methodNames,
    overrides: model.overrides,
    adminAcl: model.adminAcl,
    dataAcls: model.dataAcls ?? {},
  };
}
