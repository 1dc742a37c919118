/**
 * Single kernels of the engine, callable on their own at a chosen SIMD level: for tests against
 * the scalar reference and for microbenchmarks. Synchronous; inputs are never modified.
 */
import { addon, type NativeKernels, type SimdLevel } from './native';
import { call } from './errors';
import { currentStreamTuning, parsePrefetchBytes, setPrefetchBytes, type StreamTuning } from './tuning/stream';

export type { SimdLevel } from './native';
export type KernelLevel = SimdLevel | 'auto';

type Args<K extends keyof NativeKernels> = Parameters<NativeKernels[K]>[0];

/** SIMD levels this binary and CPU can run, lowest first. */
export function availableSimdLevels(): SimdLevel[] {
  return addon.kernels.levels();
}

/** CPU features and the level the engine picks by default. */
export function cpuInfo() {
  return addon.cpuInfo();
}

/**
 * y[T, rows] = x[T, cols] · Wᵀ (+ bias), W stored [rows, cols] in F32, BF16 or F16 (raw bits in a
 * Uint16Array), Q8 (Int8Array) or Q4 (packed nibbles, low = even column, value = nibble - 8) with
 * `scales`. `precision: 'fast'` runs the reduced-precision kernel (see hasFastMatmul).
 */
export const matmul = (args: Args<'matmul'>, level: KernelLevel = 'auto') => call(() => addon.kernels.matmul(args, level));
/** Whether a level has a `fast` precision matmul on this CPU (scalar: the reference, always). */
export const hasFastMatmul = (level: KernelLevel = 'auto') => call(() => addon.kernels.hasFastMatmul(level));
/** RMSNorm of one row with (1 + weight) scaling. */
export const rmsnorm = (args: Args<'rmsnorm'>, level: KernelLevel = 'auto') => call(() => addon.kernels.rmsnorm(args, level));
/** gelu_tanh(x), gelu_tanh(x) * u, or cap * tanh(x / cap). */
export const elementwise = (args: Args<'elementwise'>, level: KernelLevel = 'auto') => call(() => addon.kernels.elementwise(args, level));
/** Causal depthwise Conv1D over a chunk with carried state; returns the outputs and the new state. */
export const conv1d = (args: Args<'conv1d'>, level: KernelLevel = 'auto') => call(() => addon.kernels.conv1d(args, level));
/** RG-LRU gates + scan over a chunk; returns every step's hidden state and the final one. */
export const rglruScan = (args: Args<'rglru'>, level: KernelLevel = 'auto') => call(() => addon.kernels.rglru(args, level));
/** Partial rotary position embedding (rotate-half within the first rotaryDims of every head). */
export const rope = (args: Args<'rope'>, level: KernelLevel = 'auto') => call(() => addon.kernels.rope(args, level));
/** Local multi-query attention of a chunk over a ring-buffer cache of `window` positions. */
export const localAttention = (args: Args<'localAttention'>, level: KernelLevel = 'auto') => call(() => addon.kernels.localAttention(args, level));

/**
 * The software prefetch distance of the streaming (decode) matmuls, process-wide (results never
 * depend on it; model loads choose it per machine, see LoadOptions.streamPrefetchBytes).
 */
export const streamTuning = (): StreamTuning => currentStreamTuning();
/** Sets the prefetch distance (bytes, rounded down to 64; 0 = hardware prefetchers only). */
export const setStreamTuning = (tuning: { prefetchBytes: number }): StreamTuning =>
  setPrefetchBytes(parsePrefetchBytes(tuning?.prefetchBytes, 'prefetchBytes'), 'option');
