/**
 * Public option and result types of the client library. Plain data only: every field is documented,
 * and nothing here refers to generated protobuf types.
 */

/**
 * Backoff of every retry loop: exponential, with jitter, and always bounded by the caller's deadline or
 * AbortSignal (there is no attempt limit).
 */
export interface RetryPolicy {
  /**
   * Wait before the first retry, in milliseconds.
   * @default 10
   */
  readonly initialBackoffMs?: number;
  /**
   * Longest wait between two attempts, in milliseconds.
   * @default 20000
   */
  readonly maxBackoffMs?: number;
  /**
   * Factor by which the wait grows after every attempt.
   * @default 1.1
   */
  readonly multiplier?: number;
  /**
   * Random spread of each wait, as a fraction: 0.5 waits between 50 % and 150 % of the nominal wait.
   * @default 0.5
   */
  readonly jitter?: number;
}

/** Options of a {@link Sax} client. */
export interface SaxClientOptions {
  /**
   * Folder or `gs://bucket/dir` holding the cells' `sax/<cell>/location.proto` files.
   * @default process.env.SAX_ROOT
   */
  readonly saxRoot?: string;
  /** Backoff of the retry loops (admin and data calls). */
  readonly retry?: RetryPolicy;
}

/** Options of any call. Without either field a call may wait (and retry) forever. */
export interface CallOptions {
  /** Give up after this many milliseconds, retries included (DEADLINE_EXCEEDED). */
  readonly timeoutMs?: number;
  /** Cancels the call, retries included (CANCELLED). */
  readonly signal?: AbortSignal;
}

/** Model-specific extra inputs of a data call (the `extra_inputs` message). */
export interface ExtraInputs {
  /** Scalar inputs, sent as float32 (e.g. `temperature`). */
  readonly items?: Readonly<Record<string, number>>;
  /** Vector inputs, sent as float32 lists. */
  readonly tensors?: Readonly<Record<string, readonly number[]>>;
  /** String inputs. */
  readonly strings?: Readonly<Record<string, string>>;
}

/** Options of a data call. */
export interface DataCallOptions extends CallOptions {
  readonly extraInputs?: ExtraInputs;
}

/** Options of {@link Sax.model}. */
export interface ModelOptions {
  /**
   * Send every data call to this `host:port` (a proxy or one model server) instead of looking the model's
   * replicas up through the cell's admin.
   */
  readonly proxyAddress?: string;
}

// ---- admin ----------------------------------------------------------------------------------------

/** What {@link SaxAdmin.publish} publishes. */
export interface PublishSpec {
  /** `/sax/<cell>/<model>`, in the admin's cell. */
  readonly modelId: string;
  /** Registry path of the servable, e.g. `saxml.server.pax.lm.params.lm_cloud.LmCloudSpmd2BTest`. */
  readonly modelPath: string;
  /** Checkpoint to load, or `None`. */
  readonly checkpointPath: string;
  /** How many model servers should load the model. */
  readonly numReplicas: number;
  /** Servable parameter overrides; values are JSON text (`"4"`, `"\"x\""`). */
  readonly overrides?: Readonly<Record<string, string>>;
  /** The model's admin ACL (`""` for none). */
  readonly adminAcl?: string;
  /** Per data-method ACLs, e.g. `{ "lm.generate": "acl/team" }`. */
  readonly dataAcls?: Readonly<Record<string, string>>;
}

/**
 * What {@link SaxAdmin.update} changes: the fields given replace the published ones, the others keep
 * their published value. The model path cannot change (INVALID_ARGUMENT from the admin).
 */
export type ModelUpdate = Partial<Omit<PublishSpec, "modelId">> & { readonly modelId: string };

/** A published model as the admin lists it. */
export interface ListedModel {
  readonly modelId: string;
  readonly modelPath: string;
  readonly checkpointPath: string;
  /** Requested number of replicas. */
  readonly numReplicas: number;
  readonly overrides: Readonly<Record<string, string>>;
  /** The model's admin ACL, `""` if none. */
  readonly adminAcl: string;
  /** Per data-method ACLs; `undefined` when the model carries no ACL message at all. */
  readonly dataAcls: Readonly<Record<string, string>> | undefined;
  /** Data methods its model servers reported, sorted (empty until one has served or loaded it). */
  readonly methodNames: readonly string[];
  /** Modelet addresses of the servers assigned to it (loading, loaded or failed). */
  readonly modeletAddresses: readonly string[];
}

/** How many servers of one chip type and topology a cell or model has. */
export interface ServerTypeStat {
  /** Enum name, e.g. `CHIP_TYPE_CPU`. */
  readonly chipType: string;
  /** Enum name, e.g. `CHIP_TOPOLOGY_1`. */
  readonly chipTopology: string;
  readonly numReplicas: number;
}

/** Server statistics of a cell or of one model's servers. */
export interface CellStats {
  readonly serverTypes: readonly ServerTypeStat[];
  /** For each servable path, how many of the servers can serve it. */
  readonly serversByServablePath: Readonly<Record<string, number>>;
}

/** ACLs of a published model. */
export interface ModelAcls {
  /** The model's admin ACL, `""` if none. */
  readonly adminAcl: string;
  /** Per data-method ACLs; `undefined` when the model carries no ACL message at all. */
  readonly dataAcls: Readonly<Record<string, string>> | undefined;
}

/** Options of {@link SaxAdmin.setAcl}. */
export interface SetAclOptions extends CallOptions {
  /** Set the ACL of this data method (e.g. `lm.generate`) instead of the model's admin ACL. */
  readonly method?: string;
}

/** One change of a watched address set. */
export interface AddressChange {
  readonly kind: "add" | "remove";
  readonly address: string;
}

/**
 * One WatchLoc answer: when `fullSet` is given it replaces the whole set (a reset), then `changes`
 * apply in order.
 */
export interface AddressUpdate {
  readonly fullSet: readonly string[] | undefined;
  readonly changes: readonly AddressChange[];
}

// ---- data -----------------------------------------------------------------------------------------

/** A generated or classified text with its score (a log probability for LMs). */
export interface ScoredText {
  readonly text: string;
  readonly score: number;
}

/**
 * One sample's piece of a GenerateStream message: keep the first `prefixLen` characters of what this
 * sample produced so far, then append `text`.
 */
export interface StreamedSample {
  readonly text: string;
  readonly prefixLen: number;
  readonly scores: readonly number[];
}

/** Scores and per-input gradients of a prefix/suffix pair. */
export interface GradientResult {
  readonly score: readonly number[];
  readonly gradients: Readonly<Record<string, readonly number[]>>;
}

/** A generated image (encoded, e.g. PNG) with its score. */
export interface GeneratedImage {
  readonly image: Buffer;
  readonly score: number;
}

/** A segmentation mask of a detected box. */
export interface DetectionMask {
  readonly height: number;
  readonly width: number;
  /** `height × width` bytes, row-major. */
  readonly values: Buffer;
}

/** A detected object: box centre, size, label and score. */
export interface DetectedBox {
  readonly cx: number;
  readonly cy: number;
  readonly w: number;
  readonly h: number;
  readonly text: string;
  readonly score: number;
  readonly mask: DetectionMask | undefined;
}

/** Options of {@link VmClient.detect}. */
export interface DetectOptions extends DataCallOptions {
  /** Labels to look for (open-vocabulary detectors). */
  readonly text?: readonly string[];
}

/** Random-seed handling of an exported model. */
export const RNG_SEED_MODES = ["stateless", "stateful", "fixed"] as const;
/** One of {@link RNG_SEED_MODES}. */
export type RngSeedMode = (typeof RNG_SEED_MODES)[number];

/** What {@link SaxModel.export} exports. */
export interface ExportSpec {
  /** Data methods to export, e.g. `["lm.generate"]`. */
  readonly methodNames: readonly string[];
  /** Where the model server writes the export. */
  readonly exportPath: string;
  /** @default "stateful" */
  readonly rngSeedMode?: RngSeedMode;
  readonly signatures?: readonly string[];
  /** @default true */
  readonly enableGpuMultiDeviceExecution?: boolean;
}
