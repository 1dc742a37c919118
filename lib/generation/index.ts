/** Text generation: options, the decode loop, batched generation and the sampling pieces (sampling.ts). */
export * from './options';
export * from './sampling';
export { generate, complete, collectCompletion, defaultStopTokens, PREFILL_ROUND_TOKENS, requireTokenizer, type Prompt, type GenerationHost, type GenerationModel, type ForwardFn } from './generate';
export { generateBatch, type BatchRequest, type GenerateBatchOptions, type BatchGenerationHost, type BatchGenerationModel } from './batch';
export { ForwardBatcher, type ForwardBatcherOptions, type ForwardBatcherStats, type BatchForwardHost } from './batcher';
