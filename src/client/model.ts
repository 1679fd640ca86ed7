/** One model of a cell, as data calls see it: its id and its LM and vision facets. */
import { InvalidArgumentError } from "../common/errors.js";
import {
  ExportRequest,
  ExportRequest_RngSeedMode as RngSeedModeEnum,
  ExportRequest_SerializedModelFormat,
  ModeletDefinition,
  SaveRequest,
} from "../gen/sax/modelet.js";
import { grpcService } from "../grpc/definitions.js";
import type { DataCaller } from "./data-caller.js";
import { LmClient } from "./lm.js";
import { RNG_SEED_MODES, type CallOptions, type ExportSpec, type RngSeedMode } from "./types.js";
import { VmClient } from "./vm.js";

const MODELET = grpcService(ModeletDefinition);

const RNG_SEED_MODE: Record<RngSeedMode, RngSeedModeEnum> = {
  stateless: RngSeedModeEnum.STATELESS,
  stateful: RngSeedModeEnum.STATEFUL,
  fixed: RngSeedModeEnum.FIXED,
};

/** A published model, reached through its replicas. Get one with {@link Sax.model}. */
export class SaxModel {
  /** Language-model calls. */
  readonly lm: LmClient;
  /** Vision calls. */
  readonly vm: VmClient;

  /** @internal built by {@link Sax.model} */
  constructor(private readonly caller: DataCaller) {
    this.lm = new LmClient(caller);
    this.vm = new VmClient(caller);
  }

  /** The model id, `/sax/<cell>/<model>`. */
  get id(): string {
    return this.caller.modelId;
  }

  /** Asks one serving replica to save the model's weights to `checkpointPath`. */
  async save(checkpointPath: string, options: CallOptions = {}): Promise<void> {
    const request = SaveRequest.fromPartial({ modelKey: this.id, checkpointPath });
    await this.caller.unary(MODELET.save, request, options, "save");
  }

  /** Asks one serving replica to export the model (a TF SavedModel). */
  async export(spec: ExportSpec, options: CallOptions = {}): Promise<void> {
    const rngSeedMode = RNG_SEED_MODE[spec.rngSeedMode ?? "stateful"] as RngSeedModeEnum | undefined;
    if (rngSeedMode === undefined) {
      const modes = RNG_SEED_MODES.join(", ");
      throw new InvalidArgumentError(`rngSeedMode must be one of ${modes}, got ${String(spec.rngSeedMode)}`);
    }
    const request = ExportRequest.fromPartial({
      modelKey: this.id,
      methodNames: [...spec.methodNames],
      exportPath: spec.exportPath,
      serializedModelFormat: ExportRequest_SerializedModelFormat.TF_SAVEDMODEL_V0,
      rngSeedMode,
      signatures: [...(spec.signatures ?? [])],
      enableGpuMultiDeviceExecution: spec.enableGpuMultiDeviceExecution ?? true,
    });
    await this.caller.unary(MODELET.export, request, options, "export");
  }
}
