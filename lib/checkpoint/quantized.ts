/**
 * The on-disk convention of quantized checkpoints (written by `recurrentgemma quantize`):
 *
 * - a quantized projection `X.weight` [rows, cols] is stored as dtype I8 [rows, cols] (int8) or
 *   U8 [rows, cols / 2] (4-bit: two values per byte, low nibble = even column, value = nibble - 8),
 *   next to `X.weight_scales`, F32 [rows, cols / 32]: one scale per group of 32 weights of a row;
 * - every safetensors file carries `__metadata__` {"recurrentgemma.quantization": "int8" | "q4"};
 * - config.json carries "recurrentgemma_quantization": "int8" | "q4" (informative, checked).
 *
 * Only the big projection matrices are quantized: MLP, linear_x/y/out, q/k/v/o and the
 * (tied) embedding. RG-LRU gates, norms, biases and conv taps keep their stored dtype.
 */

/** Weight formats a model can run with. 'stored' keeps the checkpoint's own dtypes. */
export type WeightFormat = 'stored' | 'int8' | 'q4';
/** The quantized formats. */
export type Quantization = Exclude<WeightFormat, 'stored'>;

export const QUANTIZATION_METADATA_KEY = 'recurrentgemma.quantization';
export const QUANTIZATION_CONFIG_KEY = 'recurrentgemma_quantization';
export const SCALES_SUFFIX = '_scales';
/** Weights sharing one scale, consecutive along a row. */
export const QUANT_GROUP = 32;

const QUANTIZABLE = [
  /^model\.embed_tokens\.weight$/,
  /^model\.layers\.\d+\.mlp_block\.(gate_proj|up_proj|down_proj)\.weight$/,
  /^model\.layers\.\d+\.temporal_block\.(linear_x|linear_y|linear_out)\.weight$/,
  /^model\.layers\.\d+\.temporal_block\.(q_proj|k_proj|v_proj|o_proj)\.weight$/,
];

/** True for the projection matrices that quantization applies to (given a quantizable shape). */
export function isQuantizable(name: string, shape: readonly number[]): boolean {
  return shape.length === 2 && shape[1]! % QUANT_GROUP === 0 && QUANTIZABLE.some((r) => r.test(name));
}

/** Storage dtype and shape of a quantized matrix of logical shape [rows, cols]. */
export function quantizedLayout(q: Quantization, rows: number, cols: number): { dtype: 'I8' | 'U8'; shape: number[]; nbytes: number } {
  return q === 'int8' ? { dtype: 'I8', shape: [rows, cols], nbytes: rows * cols } : { dtype: 'U8', shape: [rows, cols / 2], nbytes: (rows * cols) / 2 };
}

export function isQuantization(v: unknown): v is Quantization {
  return v === 'int8' || v === 'q4';
}
