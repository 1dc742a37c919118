/** recurrentgemma: RecurrentGemma (Griffin) language models on the CPU, from TypeScript. */
export { RecurrentGemma, DEFAULT_MODEL_DIR, type LoadOptions, type LoadProgress, type Precision, type ForwardOptions, type ForwardBatchOptions, type TokenInput, type RuntimeInfo } from './model';
export { ForwardBatcher, type ForwardBatcherOptions, type ForwardBatcherStats, type BatchForwardHost } from './generation/batcher';
export { ModelState, type LayerState, type SerializeOptions } from './state/state';
export {
  inspectState,
  StateFormatCode,
  STATE_FORMAT_VERSION,
  type StateHeader,
  type StateLayerLayout,
  type StateModelSummary,
} from './state/format';
export { type ModelFingerprint } from './checkpoint/fingerprint';
export {
  stateSizeReport,
  formatStateSizeReport,
  type StateSizeConfig,
  type StateSizeOptions,
  type StateSizeReport,
  type StateSizeRow,
} from './state/size';
export {
  RecurrentGemmaError,
  CheckpointError,
  InvalidArgumentError,
  TokenRangeError,
  DisposedError,
  StateBusyError,
  ForeignStateError,
  TokenizerError,
  StateFormatError,
  GrammarError,
  HubError,
  IntegrityError,
  NativeAddonError,
  AbortError,
} from './errors';
export { openCheckpoint, readConfig, parseConfig, type ModelConfig, type BlockType, type DType, type Checkpoint } from './checkpoint';
export { validateCheckpoint, type ValidateOptions, type ValidationIssue, type ValidationReport, type NonFiniteCounts } from './checkpoint';
export * as kernels from './kernels';
export { type StreamTuning, type StreamTuningSource } from './tuning/stream';
export { type WeightFormat, type Quantization, type WeightDType } from './checkpoint';
export { quantizeCheckpoint, type QuantizeOptions, type QuantizeResult } from './quantize';
export { synthesizeCheckpoint, synthConfigJson, SYNTH_PRESETS, type SynthOptions, type SynthResult, type SynthPreset, type SynthDType } from './synth';
export { Tokenizer, TOKENIZER_FILES, type EncodeOptions, type DecodeOptions } from './tokenizer';
export { ChatSession, ChatTemplate, foldSystemPrompt, type ChatMessage, type ChatRole, type ChatReply, type ChatSessionData, type ChatSessionOptions, type ChatTurnOptions } from './chat';
export {
  GENERATION_DEFAULTS,
  PREFILL_ROUND_TOKENS,
  type GenerationTimings,
  type GenerationEnd,
  type Prompt,
  type FinishReason,
  type GenerationChunk,
  type Completion,
  type SamplingOptions,
  type GenerateOptions,
  type TokenLogprob,
  type BatchRequest,
  type GenerateBatchOptions,
} from './generation';
export * as sampling from './generation/sampling';
export {
  compileConstraint,
  compileJsonSchema,
  parseGbnf,
  printGrammar,
  SUPPORTED_FORMATS,
  SUPPORTED_KEYWORDS,
  type CompiledConstraint,
  type ConstraintSpec,
  type Grammar,
  type Expr as GrammarExpr,
} from './grammar';
export { createServer, serve, ApiError, type ServerOptions, type ListenOptions, type RecurrentGemmaServer, type ApiErrorBody, type ApiErrorType, type RedisTierOptions, type LogFn } from './server';
export { pullModel, resolveModelDir, cachedSnapshot, type PullOptions, type PullProgress, type PullResult, type PullFile, type ResolveModelOptions } from './hub';
export { type LogitBias } from './generation/logit-bias';
export {
  evaluate,
  parseTasks,
  type EvalItem,
  type EvalItemResult,
  type EvalOptions,
  type EvalProgress,
  type EvalSummary,
  type ScoreInput,
  type ScoreOptions,
  type ScoreProgress,
  type ScoreResult,
  type TopLogprob,
} from './scoring';
