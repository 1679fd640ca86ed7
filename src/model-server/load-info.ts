/**
 * What a model's load cost, in the two forms the model server shows it: GetStatus's `load_info` (a
 * sax-ts extension of ModelWithStatus) and one log line per load.
 */
import type { GetStatusResponse_LoadInfo } from "../gen/sax/modelet.js";
import type { ModelLoadInfo } from "./model-loader.js";

const MIB = 2 ** 20;

/** GetStatus's LoadInfo: the model server's own timing plus what the worker measured (0 where it did not). */
export function loadInfoMessage(loadSeconds: number, info: ModelLoadInfo = {}): GetStatusResponse_LoadInfo {
  return {
    loadSeconds,
    weightsSeconds: info.weightsSeconds ?? 0,
    compileSeconds: info.compileSeconds ?? 0,
    // int64 on the wire: whole numbers only.
    checkpointBytes: Math.round(info.checkpointBytes ?? 0),
    parameters: Math.round(info.parameters ?? 0),
  };
}

/**
 * `<model>: loaded in X s (weights Y s, compile Z s, N parameters, B MiB read)`, naming only what the
 * worker measured.
 */
export function loadSummary(modelKey: string, loadSeconds: number, info: ModelLoadInfo = {}): string {
  const parts: string[] = [];
  if (info.weightsSeconds !== undefined) parts.push(`weights ${seconds(info.weightsSeconds)}`);
  if (info.compileSeconds !== undefined) parts.push(`compile ${seconds(info.compileSeconds)}`);
  if (info.parameters !== undefined)
    parts.push(`${Math.round(info.parameters).toLocaleString("en-US")} parameters`);
  if (info.checkpointBytes !== undefined) parts.push(`${(info.checkpointBytes / MIB).toFixed(1)} MiB read`);
  const details = parts.length === 0 ? "" : ` (${parts.join(", ")})`;
  return `${modelKey}: loaded in ${seconds(loadSeconds)}${details}`;
}

function seconds(value: number): string {
  return `${value.toFixed(value < 10 ? 2 : 1)} s`;
}
