/**
 * The admin's HTTP status pages (Saxml's layout): `/` the cell, `/model/<cell>/<model>` one model,
 * `/server/<ip:port>` one server. Served on loopback only.
 */
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { chipTopologyName, chipTypeName } from "../common/platform.js";
import { ModelStatus } from "../gen/sax/common.js";
import type { CellAdmin } from "./cell-admin.js";
import type { ServerMirror } from "./server-mirror.js";

/** A running status page server. */
export interface StatusPageHandle extends AsyncDisposable {
  readonly port: number;
  close(): Promise<void>;
}

/** Starts the status pages on `127.0.0.1:<port>` (0 picks a free port). */
export async function startStatusPage(
  admin: CellAdmin,
  cellId: string,
  port: number,
): Promise<StatusPageHandle> {
  const server: Server = createServer((req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://localhost").pathname);
      if (path.startsWith("/model/"))
        return html(res, modelPage(admin, cellId, `/${path.slice("/model/".length)}`));
      if (path.startsWith("/server/"))
        return html(res, serverPage(admin, cellId, path.slice("/server/".length)));
      return html(res, cellPage(admin, cellId));
    } catch (err) {
      res.writeHead(500, { "content-type": "text/plain; charset=utf-8" }).end((err as Error).message);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { port: (server.address() as AddressInfo).port, close, [Symbol.asyncDispose]: close };
}

function cellPage(admin: CellAdmin, cellId: string): string {
  return page(cellId, "Cell", {
    modelsTitle: "Models",
    models: modelsTable(admin.list("")),
    serversTitle: "Servers",
    servers: serversTable(admin.servers.all()),
  });
}

function modelPage(admin: CellAdmin, cellId: string, modelId: string): string {
  let models;
  try {
    models = admin.list(modelId);
  } catch (err) {
    throw new Error(`Failed to list model ${JSON.stringify(modelId)}: ${(err as Error).message}`);
  }
  const mirrors = (admin.assignment.get(modelId) ?? []).flatMap((a) => admin.servers.get(a) ?? []);
  return page(cellId, "Model", {
    modelsTitle: `Model ${modelId}`,
    models: modelsTable(models),
    serversTitle: "Servers",
    servers: serversTable(mirrors),
  });
}

function serverPage(admin: CellAdmin, cellId: string, address: string): string {
  const mirror = admin.servers.get(address);
  if (!mirror) throw new Error(`Failed to locate server ${address}: it has not joined or was pruned`);
  const models = admin.list("").filter((m) => mirror.wanted.has(m.model?.modelId ?? ""));
  return page(cellId, "Server", {
    modelsTitle: "Models",
    models: modelsTable(models),
    serversTitle: `Server ${address}`,
    servers: serversTable([mirror]),
  });
}

function modelsTable(models: ReturnType<CellAdmin["list"]>): string {
  const rows = models.map(({ model, modeletAddresses }) => [
    model?.modelId ?? "",
    String(model?.requestedNumReplicas ?? 0),
    String(modeletAddresses.length),
    model?.modelPath ?? "",
    model?.checkpointPath ?? "",
  ]);
  return table(["Name", "Max", "Active", "Path", "Checkpoint"], rows);
}

function serversTable(mirrors: readonly ServerMirror[]): string {
  const now = Date.now();
  const rows = mirrors.map((m) => {
    const models = [...m.seen].map(([id, s]) => `${id}: ${ModelStatus[s.status]}`);
    return [
      m.address,
      chipTypeName(m.server.spec.chipType),
      chipTopologyName(m.server.spec.chipTopology),
      ((now - m.lastPingMs) / 1000).toFixed(3),
      models.length ? models.join(", ") : "Idle",
      m.isDormant ? "Dormant" : "Active",
    ];
  });
  return table(["Addr", "Chip", "Topo", "Lag (s)", "ModelStatus", "ServerStatus"], rows);
}

/** The two titled tables of a page, rendered. */
interface PageParts {
  readonly modelsTitle: string;
  readonly models: string;
  readonly serversTitle: string;
  readonly servers: string;
}

function page(cellId: string, kind: string, parts: PageParts): string {
  const e = escapeHtml;
  const { modelsTitle, models, serversTitle, servers } = parts;
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${e(cellId)}</title></head>
<body><h1>${e(cellId)} ${kind} Status</h1>
<h2>${e(modelsTitle)}</h2>
${models}
<h2>${e(serversTitle)}</h2>
${servers}
</body></html>
`;
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const tr = (cells: readonly string[], tag: string) =>
    `<tr>${cells.map((c) => `<${tag}>${escapeHtml(c)}</${tag}>`).join("")}</tr>`;
  return `<table border="1">\n${[tr(header, "th"), ...rows.map((r) => tr(r, "td"))].join("\n")}\n</table>`;
}

function html(res: ServerResponse, body: string): void {
  res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(body);
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
