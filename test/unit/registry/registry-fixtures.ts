/**
 * Shared arrangements for the registry tests: the names Saxml registers in lm_cloud.py and short
 * resolvers over the default catalogue.
 */
import {
  ServableRegistry,
  type LmServableConfig,
  type ResolvedServable,
} from "../../../src/registry/index.js";

/** Every class `lm_cloud.py` registers, in file order (taken from Saxml at eb93f3e). */
export const LM_CLOUD_CLASSES = `
  LLaMA7BFP16 LLaMA7BFP16TPUv4 LLaMA7BFP16TPUv5e LLaMA7B LLaMA7BTPUv5e4 LLaMA7BTPUv5e8 LLaMA7BTPUv5e16
  LLaMA7BContinuousBatchingTPUv5e4 LLaMA7BContinuousBatchingTPUv5e8 LLaMA7BH100BS8 LLaMA7BH100 LLaMA13B
  LLaMA33B LLaMA65B LLaMA70BFP16TPUv5e LLaMA70BInt8TPUv5e8 LLaMA70BInt8TokenizedInputTPUv5e8
  LLaMA70BInt8TokenizedInputTPUv5e8Stream LLaMA70BFP16TPUv5e16 LLaMA70BFP16TPUv5e32 LLaMA70BFP16TPUv5e64
  LLaMA70BInt8LinearOnlyx8 LLaMA70BFP16H100x8 LLaMA70BInt8H100x8 LLaMA70BInt8H100x8BS32 LLaMA70BInt8H100x8Fake
  LLaMA3_8BFP16x4 LLaMA3_8BFP16Testx4 LLaMA3_8BFP16x1 LLaMA3_70BFP16x16 LLaMA31_405BFP16x64
  LLaMA31_405BLinearOnlyInt8x32 LLaMA3_70BFP16x8 LLaMA3_70BInt8LinearOnlyx8 LmCloudSpmd2B LmCloudSpmd2BTest
  LmCloudSpmd2B4Test LmCloudSpmd2B8Test LmCloudSpmd2B16Test LmCloudSpmd2B32Test LmCloudSpmd175B
  LmCloudSpmd175BTest LmCloudSpmd175B32Test LmCloudSpmd175B64Test LmCloudSpmd175B128Test LmCloudSpmd175B256Test
`
  .trim()
  .split(/\s+/);

/** The full name of an lm_cloud class. */
export const lmCloud = (name: string) => `saxml.server.pax.lm.params.lm_cloud.${name}`;

/** A registry over the default catalogue. */
export const registry = new ServableRegistry();

/** Resolves an lm_cloud class by its short name. */
export function resolveLmCloud(name: string, overrides: Record<string, string> = {}): ResolvedServable {
  return registry.resolve(lmCloud(name), overrides);
}

/** The LM config of an lm_cloud class, with overrides applied. */
export function lmConfig(name: string, overrides: Record<string, string> = {}): LmServableConfig {
  const { config } = resolveLmCloud(name, overrides);
  if (config.kind !== "lm") throw new Error(`${name} is not an LM`);
  return config;
}
