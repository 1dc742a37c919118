/**
 * The public `sampling` namespace: the pure pieces a caller can reuse in a loop of its own — the
 * sampler (temperature, top-k, top-p, min-p, repetition penalty), the seeded RNG, the stop-string
 * matcher and the streaming detokenizer. The decode loop itself is model.generate().
 */
export * from './sampler';
export { Xoshiro128, randomSeed, type Rng } from './rng';
export { StopStringMatcher, type StopMatch } from './stop';
export { TextStreamDecoder, type DecodeFn } from './stream';
