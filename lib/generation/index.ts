/** Text generation: sampling (pure functions), PRNG, stop strings, streaming detokenization, the decode loop. */
export * from './options';
export * from './sampler';
export { Xoshiro128, randomSeed, type Rng } from './rng';
export { StopStringMatcher, type StopMatch } from './stop';
export { TextStreamDecoder, type DecodeFn } from './stream';
export { generate, complete, defaultStopTokens, type Prompt, type GenerationHost } from './generate';
export { generateBatch, type BatchRequest, type GenerateBatchOptions, type BatchGenerationHost } from './batch';
