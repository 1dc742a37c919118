import { CheckpointError } from '../errors';
import { stateBytes, type BlockType } from '../state/layout';

export type { BlockType } from '../state/layout';

/** The architecture of a RecurrentGemma checkpoint, normalised from its Hugging Face config.json. */
export interface ModelConfig {
  /** V: vocabulary size. */
  vocabSize: number;
  /** D: model width (HF hidden_size). */
  width: number;
  /** F: MLP width per branch (HF intermediate_size / 2). */
  mlpWidth: number;
  /** L: RG-LRU width. */
  lruWidth: number;
  /** H: attention heads (also the number of RG-LRU gate blocks). */
  numHeads: number;
  /** hd = D / H. */
  headDim: number;
  numLayers: number;
  /** One entry per layer (the config's pattern cycled). */
  blockTypes: BlockType[];
  /** W: local attention window (each query sees itself and the W previous tokens). */
  window: number;
  /** K: Conv1D taps. */
  convWidth: number;
  logitsSoftCap: number;
  rmsNormEps: number;
  embeddingsScaleBySqrtDim: boolean;
  /** The embedding multiplier actually used: bf16(sqrt(width)), or 1. */
  embedScale: number;
  ropeTheta: number;
  partialRotaryFactor: number;
  /** Rotated dims per head: headDim * partialRotaryFactor. */
  ropeDims: number;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
}

/** Largest dimension accepted; keeps every size product exact in doubles and int64. */
const MAX_DIM = 1 << 20;
const MAX_LAYERS = 4096;
/**
 * Largest per-sequence state accepted, in bytes. The attention window is not tied to any tensor's
 * size, so without this a few-KB checkpoint could make every createState() allocate terabytes.
 * The largest real model (9B, window 2048) needs about 55 MB.
 */
export const MAX_STATE_BYTES = 2 ** 32;

/** Rounds a float32 to bfloat16 (round to nearest even), as the reference does for sqrt(width). */
export function roundToBf16(x: number): number {
  const f = new Float32Array([x]);
  const u = new Uint32Array(f.buffer);
  const bits = u[0]!;
  u[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 0) & 0xffff0000;
  return f[0]!;
}

function fail(file: string, message: string, code = 'ERR_RG_INVALID_CONFIG'): never {
  throw new CheckpointError(`${file}: ${message}`, code, { file });
}

/** Parses and validates a Hugging Face RecurrentGemma config.json object. */
export function parseConfig(raw: unknown, file = 'config.json'): ModelConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) fail(file, 'must contain a JSON object');
  const o = raw as Record<string, unknown>;

  const int = (key: string, fallback?: number, min = 1, max = MAX_DIM): number => {
    const v = o[key] ?? fallback;
    if (v === undefined) fail(file, `missing key "${key}"`);
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(file, `"${key}" must be an integer, got ${JSON.stringify(v)}`);
    if (v < min || v > max) fail(file, `"${key}" = ${v} is out of range [${min}, ${max}]`);
    return v === 0 ? 0 : v;
  };
  const num = (key: string, fallback: number, min: number, max: number): number => {
    const v = o[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(file, `"${key}" must be a finite number, got ${JSON.stringify(v)}`);
    if (v < min || v > max) fail(file, `"${key}" = ${v} is out of range [${min}, ${max}]`);
    return v === 0 ? 0 : v; // JSON can spell -0, which would otherwise leak into derived sizes
  };

  if (o.model_type !== undefined && o.model_type !== 'recurrent_gemma')
    fail(file, `model_type is "${String(o.model_type)}", expected "recurrent_gemma"`);

  const vocabSize = int('vocab_size');
  const width = int('hidden_size');
  const intermediate = int('intermediate_size', undefined, 2, 2 * MAX_DIM);
  if (intermediate % 2 !== 0) fail(file, `"intermediate_size" = ${intermediate} must be even (it is 2 x the MLP branch width)`);
  const numLayers = int('num_hidden_layers', undefined, 1, MAX_LAYERS);
  const numHeads = int('num_attention_heads');
  const lruWidth = o.lru_width === null ? width : int('lru_width', width);
  if (width % numHeads !== 0) fail(file, `num_attention_heads (${numHeads}) must divide hidden_size (${width})`);
  if (lruWidth % numHeads !== 0) fail(file, `num_attention_heads (${numHeads}) must divide lru_width (${lruWidth})`);
  const headDim = width / numHeads;
  if (o.head_dim !== undefined && o.head_dim !== null && o.head_dim !== headDim)
    fail(file, `head_dim = ${String(o.head_dim)} but hidden_size / num_attention_heads = ${headDim}`);
  const kvHeads = int('num_key_value_heads', 1);
  if (kvHeads !== 1) fail(file, `num_key_value_heads must be 1 (multi-query attention), got ${kvHeads}`);
  const window = int('attention_window_size');
  const convWidth = int('conv1d_width', 4, 1, 64);
  const logitsSoftCap = num('logits_soft_cap', 30, 0, 1e6);
  const rmsNormEps = num('rms_norm_eps', 1e-6, 0, 1);

  const rope = o.rope_parameters as Record<string, unknown> | undefined;
  if (rope !== undefined && (typeof rope !== 'object' || rope === null || Array.isArray(rope)))
    fail(file, '"rope_parameters" must be an object');
  const ropeTheta = o.rope_theta !== undefined || !rope ? num('rope_theta', 10000, 1e-6, 1e12) : Number(rope.rope_theta ?? 10000);
  const partialRotaryFactor = o.partial_rotary_factor !== undefined || !rope
    ? num('partial_rotary_factor', 0.5, 0, 1)
    : Number(rope.partial_rotary_factor ?? 0.5);
  if (!Number.isFinite(ropeTheta) || ropeTheta <= 0) fail(file, 'rope_theta must be a positive number');
  if (!(partialRotaryFactor >= 0 && partialRotaryFactor <= 1)) fail(file, 'partial_rotary_factor must be in [0, 1]');
  const ropeDims = Math.max(0, 2 * Math.floor((headDim * partialRotaryFactor) / 2));

  const act = o.hidden_activation ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh' && act !== 'gelu_tanh')
    fail(file, `hidden_activation "${String(act)}" is not supported (expected gelu_pytorch_tanh)`);
  if (o.attention_bias === true) fail(file, 'attention_bias = true is not supported (RecurrentGemma has no q/k/v bias)');

  const pattern = o.block_types ?? o._block_types;
  if (!Array.isArray(pattern) || pattern.length === 0) fail(file, 'missing "block_types" / "_block_types" (a non-empty list)');
  for (const b of pattern) {
    if (b !== 'recurrent' && b !== 'attention') fail(file, `block type ${JSON.stringify(b)} is not "recurrent" or "attention"`);
  }
  const blockTypes: BlockType[] = Array.from({ length: numLayers }, (_, i) => pattern[i % pattern.length] as BlockType);

  const scaleBySqrt = o.embeddings_scale_by_sqrt_dim ?? true;
  if (typeof scaleBySqrt !== 'boolean') fail(file, '"embeddings_scale_by_sqrt_dim" must be a boolean');
  const tokenId = (key: string, fallback: number): number => int(key, fallback, 0, vocabSize - 1);

  const config: ModelConfig = {
    vocabSize,
    width,
    mlpWidth: intermediate / 2,
    lruWidth,
    numHeads,
    headDim,
    numLayers,
    blockTypes,
    window,
    convWidth,
    logitsSoftCap,
    rmsNormEps,
    embeddingsScaleBySqrtDim: scaleBySqrt,
    embedScale: scaleBySqrt ? roundToBf16(Math.fround(Math.sqrt(width))) : 1,
    ropeTheta,
    partialRotaryFactor,
    ropeDims,
    bosTokenId: tokenId('bos_token_id', Math.min(2, vocabSize - 1)),
    eosTokenId: tokenId('eos_token_id', Math.min(1, vocabSize - 1)),
    padTokenId: tokenId('pad_token_id', 0),
  };
  const bytes = stateBytes(config);
  if (bytes > MAX_STATE_BYTES)
    fail(file, `these sizes need ${bytes} bytes of state per sequence, more than the ${MAX_STATE_BYTES}-byte limit (check attention_window_size, lru_width, num_hidden_layers)`);
  return config;
}
