/**
 * RecurrentGemma.load()'s options: their types and their one check. The public boundary validates
 * here, with messages naming the option; the native constructor checks the values it receives
 * again only because it is the last authority before memory is touched.
 */
import type { WeightFormat } from './checkpoint';
import { InvalidArgumentError } from './errors';
import { resolveSpinMicros } from './tuning/spin';
import { parsePrefetchBytes } from './tuning/stream';

/** Options of RecurrentGemma.load(). */
export interface LoadOptions {
  /** Worker threads for the native kernels (default: number of physical cores). */
  threads?: number;
  /** Force a SIMD level ('auto' picks the best this CPU supports; RECURRENTGEMMA_SIMD also lowers it). */
  simd?: 'auto' | 'scalar' | 'avx2' | 'avx512';
  /**
   * Arithmetic of the projection matmuls. 'exact' (default): float32 activations and accumulation.
   * 'fast': activations rounded to bf16 (BF16 weights, vdpbf16ps) or quantized to int8 per 32
   * (Q8/Q4 weights, VNNI) for prefill-sized calls; needs avx512_bf16 + avx512_vnni, otherwise the
   * model runs exact (see `runtime.precision`). Logits and RG-LRU gates stay exact.
   */
  precision?: Precision;
  /** Called as each loading stage starts (for progress displays); loading yields to the event loop between stages. */
  onProgress?: (progress: LoadProgress) => void;
  /**
   * How to hold the big projection matrices: 'stored' (default) keeps the checkpoint's dtype,
   * memory-mapped; 'int8' / 'q4' quantize them at load (symmetric, one scale per 32 weights).
   * A folder written by `recurrentgemma quantize` loads as stored (or with its own format).
   */
  weights?: WeightFormat;
  /**
   * Copy stored-dtype weights out of the file mapping into memory on 2 MiB pages (Linux THP):
   * faster streaming at the cost of private memory the size of the weights. Default false.
   */
  hugePages?: boolean;
  /**
   * Software prefetch distance (bytes) of the decode matmuls, process-wide. Default: measured once
   * per machine for models streaming >= 256 MiB per step and cached (see lib/tuning/stream.ts);
   * RECURRENTGEMMA_PREFETCH_BYTES overrides the measurement too.
   */
  streamPrefetchBytes?: number;
  /**
   * Microseconds idle kernel threads poll for the next matmul before sleeping (default 0 = sleep at
   * once; RECURRENTGEMMA_SPIN_US). Polling saves the wake-up latency on a dedicated machine and
   * costs throughput on a busy one.
   */
  spinMicros?: number;
}

/** Matmul arithmetic of a model: see LoadOptions.precision. */
export type Precision = 'exact' | 'fast';

/** One step of RecurrentGemma.load(). */
export interface LoadProgress {
  stage: 'checkpoint' | 'tokenizer' | 'weights' | 'done';
  /** Stages finished so far, out of `steps`. */
  step: number;
  steps: number;
}

/** Load options checked and with their defaults filled in. */
export interface ResolvedLoadOptions {
  threads: number | undefined;
  simd: NonNullable<LoadOptions['simd']> | undefined;
  precision: Precision;
  onProgress: LoadOptions['onProgress'];
  weights: WeightFormat;
  hugePages: boolean;
  streamPrefetchBytes: number | undefined;
  spinMicros: number;
}

const SIMD_CHOICES = ['auto', 'scalar', 'avx2', 'avx512'] as const;

/** Validates RecurrentGemma.load() options (InvalidArgumentError naming the option) and fills in defaults. */
export function resolveLoadOptions(options: unknown): ResolvedLoadOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  const o = options as LoadOptions;
  if (o.simd !== undefined && !(SIMD_CHOICES as readonly string[]).includes(o.simd as string))
    throw new InvalidArgumentError(`simd must be 'auto', 'scalar', 'avx2' or 'avx512', got ${JSON.stringify(o.simd)}`, 'ERR_RG_INVALID_SIMD');
  if (o.threads !== undefined && !(Number.isInteger(o.threads) && o.threads >= 1 && o.threads <= 256))
    throw new InvalidArgumentError(`threads must be an integer in [1, 256], got ${String(o.threads)}`, 'ERR_RG_OUT_OF_RANGE');
  if (o.precision !== undefined && o.precision !== 'exact' && o.precision !== 'fast')
    throw new InvalidArgumentError(`precision must be 'exact' or 'fast', got ${JSON.stringify(o.precision)}`);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw new InvalidArgumentError('onProgress must be a function');
  const weights = o.weights ?? 'stored';
  if (weights !== 'stored' && weights !== 'int8' && weights !== 'q4')
    throw new InvalidArgumentError(`weights must be 'stored', 'int8' or 'q4', got ${JSON.stringify(weights)}`);
  if (o.hugePages !== undefined && typeof o.hugePages !== 'boolean') throw new InvalidArgumentError('hugePages must be a boolean');
  const streamPrefetchBytes = o.streamPrefetchBytes === undefined ? undefined : parsePrefetchBytes(o.streamPrefetchBytes, 'streamPrefetchBytes');
  return { threads: o.threads, simd: o.simd, precision: o.precision ?? 'exact', onProgress: o.onProgress, weights, hugePages: o.hugePages ?? false, streamPrefetchBytes, spinMicros: resolveSpinMicros(o.spinMicros) };
}
