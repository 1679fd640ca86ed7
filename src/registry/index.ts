/**
 * The servable registry: Saxml params class paths (and sax-ts's own `saxts.*` paths) → validated
 * servable configs that a Python worker builds. See registry.ts for lookup and servable-config.ts for
 * what a config holds.
 */
export {
  architectureSchema,
  dtypeSchema,
  llamaArchitectureSchema,
  lmCloudArchitectureSchema,
  quantizationSchema,
  ropeScalingSchema,
  type Architecture,
  type Dtype,
  type LlamaArchitecture,
  type LmCloudArchitecture,
  type Quantization,
  type RopeScaling,
} from "./architecture-config.js";
export { CATALOGUE, LM_CLOUD_MODULE, type CatalogueEntry } from "./catalogue/index.js";
export { checkLoadable, supportedMeshShape } from "./load-check.js";
export { OVERRIDE_KEYS } from "./override-keys.js";
export { applyOverrides, type OverriddenConfig } from "./overrides.js";
export {
  DEFAULT_REGISTRY_ROOT,
  ServableRegistry,
  type ResolveOptions,
  type ServableRegistryOptions,
  type ServingPlatform,
} from "./registry.js";
export {
  echoServableConfigSchema,
  LM_METHODS,
  lmServableConfigSchema,
  meshShapeSchema,
  lmMethodsOf,
  methodsOf,
  servableConfigSchema,
  type DataMethodName,
  type LmMethodName,
  type LmServableConfig,
  type MeshShape,
  type ResolvedServable,
  type ServableConfig,
  type ServableConfigInput,
} from "./servable-config.js";
export {
  embedConfigSchema,
  EXTRA_INPUT_DTYPES,
  extraInputsSchema,
  servingConfigSchema,
  type EmbedConfig,
  type ExtraInputDtype,
  type ExtraInputs,
  type ServingConfig,
  type ServingConfigInput,
} from "./serving-config.js";
export {
  BUNDLED_BENCH_SPM_MODEL,
  BUNDLED_TEST_SPM_MODEL,
  BYTE_TOKENIZER,
  bytesTokenizerSchema,
  llama3TiktokenTokenizerSchema,
  sentencePieceTokenizerSchema,
  tokenizerSchema,
  type Tokenizer,
} from "./tokenizer-config.js";
