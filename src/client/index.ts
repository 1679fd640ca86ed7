/**
 * The Node client library of Sax: the programmatic way into a cell, through the wire protocol only.
 *
 *   const sax = new Sax({ saxRoot: "/tmp/sax-root" });
 *   await sax.admin("/sax/test").publish({ modelId: "/sax/test/lm", modelPath, checkpointPath, numReplicas: 1 });
 *   const [best] = await sax.model("/sax/test/lm").lm.generate("hello", { timeoutMs: 30_000 });
 *   await sax.close();
 */
export { Sax } from "./sax.js";
export { SaxAdmin } from "./admin.js";
export { SaxModel } from "./model.js";
export { LmClient } from "./lm.js";
export { VmClient } from "./vm.js";
export { DEFAULT_RETRY_POLICY, ADMIN_RETRY_CODES, DATA_RETRY_CODES } from "./retry.js";
export {
  RNG_SEED_MODES,
  type AddressChange,
  type AddressUpdate,
  type CallOptions,
  type CellStats,
  type DataCallOptions,
  type DetectedBox,
  type DetectionMask,
  type DetectOptions,
  type ExportSpec,
  type ExtraInputs,
  type GeneratedImage,
  type GradientResult,
  type ListedModel,
  type ModelAcls,
  type ModelOptions,
  type ModelUpdate,
  type PublishSpec,
  type RetryPolicy,
  type RngSeedMode,
  type SaxClientOptions,
  type ScoredText,
  type ServerTypeStat,
  type SetAclOptions,
  type StreamedSample,
} from "./types.js";
