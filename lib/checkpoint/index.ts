/** Checkpoints: config.json (config.ts), safetensors headers, the tensor table, opening (open.ts), validation, quantized layout, writing. */
export { parseConfig, roundToBf16, MAX_STATE_BYTES, type BlockType, type ModelConfig } from './config';
export {
  readSafetensorsHeader,
  parseHeader,
  parseHeaderBytes,
  dtypeSize,
  storageDType,
  DTYPE_SIZE,
  type DType,
  type WeightDType,
  type TensorEntry,
  type TensorSource,
  type SafetensorsFile,
} from './safetensors';
export { expectedTensors, OPTIONAL_TENSORS } from './tensors';
export { openCheckpoint, readConfig, type Checkpoint } from './open';
export { validateCheckpoint, type ValidateOptions, type ValidationIssue, type ValidationReport, type NonFiniteCounts } from './validate';
export * from './quantized';
