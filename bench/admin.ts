/**
 * The control-plane benchmark alone (`npm run bench` includes it as `control_plane`): prints the admin
 * RPC latencies and writes nothing.
 *
 *   npm run bench:admin
 */
import { runControlPlaneBench } from "./control-plane.js";

console.log("control plane (admin over gRPC on loopback, local fs root, fsync'd saves)");
console.table(await runControlPlaneBench());
