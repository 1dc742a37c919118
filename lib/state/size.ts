/**
 * How much memory one sequence needs: RecurrentGemma's fixed-size state versus the key/value cache
 * a transformer of the same shape would grow. Pure arithmetic on the config, for benchmarks and docs.
 *
 * The transformer compared against has the same width, number of layers, heads and head_dim, with
 * every layer using global attention (no window), in two variants: multi-query attention (one
 * key/value head, as RecurrentGemma's own attention layers) and multi-head attention (num_heads
 * key/value heads). Its cache holds keys and values for every token of the context.
 */
import type { ModelConfig } from '../checkpoint/config';
import { attentionLayerFloats, STATE_BYTES_PER_VALUE, stateFloatsByKind } from './layout';

/** The config fields the sizes depend on. */
export type StateSizeConfig = Pick<ModelConfig, 'lruWidth' | 'convWidth' | 'window' | 'headDim' | 'numHeads' | 'numLayers' | 'blockTypes'>;

/** Options of stateSizeReport(). */
export interface StateSizeOptions {
  /** Bytes per element of RecurrentGemma's state (default STATE_BYTES_PER_VALUE: this runtime keeps it in float32). */
  stateBytesPerElement?: number;
  /** Bytes per element of the transformer's KV cache (2: float16/bfloat16, the usual cache dtype). */
  kvBytesPerElement?: number;
}

/** One context length's row of the report. */
export interface StateSizeRow {
  /** Tokens in the sequence so far. */
  contextLength: number;
  /** RecurrentGemma's state: the same at every context length. */
  stateBytes: number;
  /** KV cache of the same-shape all-global multi-query transformer. */
  transformerMqaBytes: number;
  /** KV cache of the same-shape all-global multi-head transformer. */
  transformerMhaBytes: number;
}

/** The report: fixed state size, per-token KV cost, one row per context length, and its assumptions. */
export interface StateSizeReport {
  stateBytes: number;
  /** Of which: RG-LRU hidden states and Conv1D tails of the recurrent layers. */
  recurrentBytes: number;
  /** Of which: the window-sized key/value ring buffers of the local-attention layers. */
  attentionBytes: number;
  /** Transformer KV bytes added by every token (MQA, MHA). */
  mqaBytesPerToken: number;
  mhaBytesPerToken: number;
  /** Smallest context length at which the MQA transformer's cache exceeds the state (Infinity: never). */
  mqaBreakEven: number;
  rows: StateSizeRow[];
  /** The assumptions behind the comparison, as a sentence for printing next to the table. */
  assumption: string;
}

/** A context length: at least one token (a row for an empty context says nothing). */
function positiveInt(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RangeError(`${what} must be a positive integer, got ${String(v)}`);
  return v;
}

/** Computes RecurrentGemma's per-sequence state size and a same-shape transformer's KV cache at each context length. */
export function stateSizeReport(config: StateSizeConfig, contextLengths: readonly number[], options: StateSizeOptions = {}): StateSizeReport {
  const sb = options.stateBytesPerElement ?? STATE_BYTES_PER_VALUE;
  const kb = options.kvBytesPerElement ?? 2;
  if (!(sb > 0) || !(kb > 0)) throw new RangeError('bytes per element must be positive');
  const hd = config.headDim, H = config.numHeads, W = config.window;
  const layers = config.blockTypes.length;
  const recurrentLayers = config.blockTypes.filter((b) => b === 'recurrent').length;
  const attentionLayers = layers - recurrentLayers;
  const floats = stateFloatsByKind(config);
  const recurrentBytes = floats.recurrent * sb;
  const attentionBytes = floats.attention * sb;
  const stateBytes = recurrentBytes + attentionBytes;
  // Every layer caches one key and one value per token: one head (MQA) or H heads (MHA).
  const mqaBytesPerToken = layers * attentionLayerFloats(hd, 1) * kb;
  const mhaBytesPerToken = layers * H * attentionLayerFloats(hd, 1) * kb;
  const rows = contextLengths.map((n, i) => {
    const contextLength = positiveInt(n, `contextLengths[${i}]`);
    return { contextLength, stateBytes, transformerMqaBytes: contextLength * mqaBytesPerToken, transformerMhaBytes: contextLength * mhaBytesPerToken };
  });
  return {
    stateBytes,
    recurrentBytes,
    attentionBytes,
    mqaBytesPerToken,
    mhaBytesPerToken,
    mqaBreakEven: mqaBytesPerToken > 0 ? Math.floor(stateBytes / mqaBytesPerToken) + 1 : Infinity,
    rows,
    assumption:
      `transformer = same width, ${layers} layers, ${H} heads x ${hd}, every layer global attention; ` +
      `KV cache in ${kb}-byte elements, MQA (1 KV head) and MHA (${H} KV heads); ` +
      `RecurrentGemma state in ${sb}-byte elements (${recurrentLayers} recurrent layers, ${attentionLayers} local-attention layers with window ${W})`,
  };
}

/** Formats a byte count with binary units (e.g. "33.6 MiB"). */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The report as a plain-text table (one row per context length), ending with the assumptions. */
export function formatStateSizeReport(report: StateSizeReport): string {
  const lines = [
    'context   RecurrentGemma state   transformer KV (MQA)   transformer KV (MHA)',
    ...report.rows.map((r) =>
      `${String(r.contextLength).padStart(7)}   ${formatBytes(r.stateBytes).padStart(20)}   ${formatBytes(r.transformerMqaBytes).padStart(20)}   ${formatBytes(r.transformerMhaBytes).padStart(20)}`,
    ),
    `state is fixed; the MQA cache passes it at ${report.mqaBreakEven} tokens.`,
    `assumption: ${report.assumption}`,
  ];
  return lines.join('\n');
}
