/** recurrentgemma: RecurrentGemma (Griffin) language models on the CPU, from TypeScript. */
export { RecurrentGemma, DEFAULT_MODEL_DIR, type LoadOptions, type ForwardOptions, type TokenInput } from './model';
export { ModelState, type LayerState } from './state';
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
} from './errors';
export { openCheckpoint, readConfig, parseConfig, type ModelConfig, type BlockType, type DType, type Checkpoint } from './checkpoint';
export * as kernels from './kernels';
