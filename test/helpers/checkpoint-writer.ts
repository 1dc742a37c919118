/**
 * Writes small random RecurrentGemma checkpoints in the exact Hugging Face layout, for tests on
 * configurations the golden fixture does not cover. Returns the stored weights (after rounding to
 * the storage dtype) so a reference implementation can use exactly the same values.
 */
import * as fs from 'fs';
import * as path from 'path';

import { expectedTensors, parseConfig } from '../../lib/checkpoint';
import { rng } from '../../lib/synth';

export type StorageDType = 'F32' | 'BF16' | 'F16';

export interface TinyConfig {
  vocabSize: number;
  width: number;
  mlpWidth: number;
  lruWidth: number;
  numHeads: number;
  numLayers: number;
  window: number;
  blockPattern: Array<'recurrent' | 'attention'>;
  logitsSoftCap?: number;
  partialRotaryFactor?: number;
}

/** Deterministic PRNG (mulberry32, shared with the synthetic-checkpoint writer). */
export { rng };

export function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

export function toBf16Bits(x: number): number {
  f32[0] = x;
  const b = u32[0]!;
  return ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
}
export function fromBf16Bits(h: number): number {
  u32[0] = h << 16;
  return f32[0]!;
}

export function toF16Bits(x: number): number {
  // Round-to-nearest via float32 -> half for normal range values (test weights are small).
  f32[0] = x;
  const b = u32[0]!;
  const sign = (b >>> 16) & 0x8000;
  const exp = ((b >>> 23) & 0xff) - 127 + 15;
  let mant = b & 0x7fffff;
  if (exp <= 0) return sign; // flush tiny values to zero (stored value is then exactly 0)
  if (exp >= 31) return sign | 0x7c00;
  let h = sign | (exp << 10) | (mant >>> 13);
  mant &= 0x1fff;
  if (mant > 0x1000 || (mant === 0x1000 && (h & 1))) h += 1;
  return h;
}
export function fromF16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 31) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function hfConfig(c: TinyConfig): Record<string, unknown> {
  return {
    architectures: ['RecurrentGemmaForCausalLM'],
    model_type: 'recurrent_gemma',
    vocab_size: c.vocabSize,
    hidden_size: c.width,
    intermediate_size: 2 * c.mlpWidth,
    lru_width: c.lruWidth,
    num_attention_heads: c.numHeads,
    num_key_value_heads: 1,
    head_dim: c.width / c.numHeads,
    num_hidden_layers: c.numLayers,
    attention_window_size: c.window,
    block_types: c.blockPattern,
    conv1d_width: 4,
    logits_soft_cap: c.logitsSoftCap ?? 30,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    partial_rotary_factor: c.partialRotaryFactor ?? 0.5,
    hidden_activation: 'gelu_pytorch_tanh',
    embeddings_scale_by_sqrt_dim: true,
    attention_bias: false,
    bos_token_id: 2,
    eos_token_id: 1,
    pad_token_id: 0,
    tie_word_embeddings: true,
  };
}

/**
 * Scale (and mean) of a tensor's random values, by role: matrices ~ 1/sqrt(fan-in) so activations
 * stay O(1), the RG-LRU's recurrent_param around -1 (a decay a = sigmoid(-1)^8 neither 0 nor 1),
 * Conv1D taps 0.5, norms and biases 0.1.
 */
function initScale(name: string, shape: readonly number[]): { std: number; mean?: number } {
  if (name.endsWith('rg_lru.recurrent_param')) return { std: 0.5, mean: -1 };
  if (name.endsWith('conv_1d.weight')) return { std: 0.5 };
  if (name.endsWith('bias') || shape.length < 2) return { std: 0.1 };
  return { std: 1 / Math.sqrt(shape[shape.length - 1]!) };
}

/**
 * Tensor names and shapes in file order (taken from lib/checkpoint/tensors.ts, the one TypeScript
 * table; the official goldens check the names independently), with the scale of their random values.
 */
export function tensorSpecs(c: TinyConfig): Array<{ name: string; shape: number[]; std: number; mean?: number }> {
  return [...expectedTensors(parseConfig(hfConfig(c))).entries()].map(([name, shape]) => ({ name, shape, ...initScale(name, shape) }));
}

/** Serialises named tensors into safetensors bytes. */
export function encodeSafetensors(tensors: Array<{ name: string; dtype: string; shape: number[]; bytes: Uint8Array }>, metadata?: Record<string, string>): Buffer {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8 !== 0) json += ' ';
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json), ...tensors.map((t) => Buffer.from(t.bytes.buffer, t.bytes.byteOffset, t.bytes.byteLength))]);
}

/** Writes config.json + model.safetensors; returns the stored values as float64 arrays. */
export function writeRandomCheckpoint(dir: string, c: TinyConfig, dtype: StorageDType, seed: number): Map<string, Float64Array> {
  fs.mkdirSync(dir, { recursive: true });
  const rand = rng(seed);
  const values = new Map<string, Float64Array>();
  const tensors = tensorSpecs(c).map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const v = new Float64Array(n);
    let bytes: Uint8Array;
    if (dtype === 'F32') {
      const a = new Float32Array(n);
      for (let i = 0; i < n; i++) a[i] = v[i] = Math.fround((s.mean ?? 0) + s.std * gaussian(rand));
      bytes = new Uint8Array(a.buffer);
    } else {
      const a = new Uint16Array(n);
      for (let i = 0; i < n; i++) {
        const x = (s.mean ?? 0) + s.std * gaussian(rand);
        a[i] = dtype === 'BF16' ? toBf16Bits(x) : toF16Bits(x);
        v[i] = dtype === 'BF16' ? fromBf16Bits(a[i]!) : fromF16Bits(a[i]!);
      }
      bytes = new Uint8Array(a.buffer);
    }
    values.set(s.name, v);
    return { name: s.name, dtype, shape: s.shape, bytes };
  });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(hfConfig(c), null, 2));
  fs.writeFileSync(path.join(dir, 'model.safetensors'), encodeSafetensors(tensors, { format: 'pt' }));
  return values;
}
