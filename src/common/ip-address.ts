/**
 * The address a server advertises to the cell (Saxml's rules): `SAX_DEBUG_IPADDR=1` forces 127.0.0.1;
 * otherwise the first global-unicast interface address (IPv4, or IPv6 outside fc00::/7), IPv6 in brackets.
 */
import { networkInterfaces } from "node:os";
import { SaxError } from "./errors.js";

/** The IP this host advertises. */
export function myIp(env: NodeJS.ProcessEnv = process.env): string {
  if (env.SAX_DEBUG_IPADDR === "1") return "127.0.0.1";
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.internal) continue;
      if (a.family === "IPv4" && !a.address.startsWith("169.254.")) return a.address;
      if (a.family === "IPv6" && isGlobalUnicastV6(a.address)) return a.address;
    }
  }
  throw new SaxError(
    "UNAVAILABLE",
    "found no global unicast IP address on this host; set SAX_DEBUG_IPADDR=1 for a loopback cell",
  );
}

/** `ip:port`, bracketing IPv6. */
export function hostPort(ip: string, port: number): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function isGlobalUnicastV6(address: string): boolean {
  const first = parseInt(address.split(":")[0] || "0", 16);
  return first >= 0x2000 && first < 0xfc00;
}
