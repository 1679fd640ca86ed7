/**
 * Resident memory of a process, for GetStatus: how much a model's worker holds, and that unloading the
 * model gives it back. Linux reports it in /proc/<pid>/status; elsewhere it is unknown.
 */
import { readFileSync } from "node:fs";

/** `VmRSS` of the process in bytes, or undefined when the process is gone or the OS does not say. */
export function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  let status: string;
  try {
    // A few hundred bytes from procfs: reading it synchronously costs microseconds.
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kib = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status)?.[1];
  return kib === undefined ? undefined : Number(kib) * 1024;
}
