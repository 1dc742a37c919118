/**
 * End-to-end throughput of one checkpoint in one weight format: load time, time to first token,
 * prefill tokens/s at several prompt lengths, decode tokens/s at several positions (with the
 * process's resident memory at each), and batched decode.
 *
 * Decode "at position p" is measured after setting the state's position to p (its tensors are
 * those of a short real prefill): a Griffin step costs the same for any state values — only the
 * position matters, through how full the attention window is — and reaching 32k by prefilling
 * would take longer than the whole rest of the benchmark.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import type { WeightFormat } from '../checkpoint';
import { RecurrentGemma, type Precision } from '../model';
import { attentionLayerFloats, STATE_BYTES_PER_VALUE, stateFloatsByKind, type ModelState } from '../state';

export interface PrefillPoint {
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}
export interface DecodePoint {
  position: number;
  batch: number;
  tokensPerSecond: number;
  rssBytes: number;
  /** Bytes of the states of the batch. */
  stateBytes: number;
}
export interface E2EResult {
  format: WeightFormat;
  /** The precision in effect (the model reports 'exact' when no fast kernel exists here). */
  precision: Precision;
  hugePages: boolean;
  threads: number;
  simd: string;
  loadSeconds: number;
  /** Bytes of weights one decode step reads. */
  streamBytes: number;
  /** Prefill of a 128-token prompt: the time to the first generated token's logits. */
  ttftSeconds: number;
  prefill: PrefillPoint[];
  decode: DecodePoint[];
  batch: DecodePoint[];
}

export interface E2EOptions {
  format: WeightFormat;
  precision?: Precision;
  threads: number;
  hugePages?: boolean;
  simd?: 'auto' | 'scalar' | 'avx2' | 'avx512';
  prefillLengths: number[];
  positions: number[];
  batches: number[];
  /** Decode steps timed per point (after one warm-up step). */
  decodeSteps: number;
  log?: (s: string) => void;
}

/** Deterministic token ids in the vocabulary (content does not change the cost). */
export function syntheticTokens(n: number, vocab: number, seed = 7): number[] {
  const out: number[] = [];
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(3 + (x % Math.max(1, vocab - 3)));
  }
  return out;
}

const now = () => performance.now() / 1000;

/** Moves a state to `position` keeping its tensors (see the file comment). */
export function jumpTo(state: ModelState, position: number): void {
  state.setPositionKeepingTensors(position);
}

async function timedDecode(model: RecurrentGemma, states: ModelState[], steps: number): Promise<number> {
  const V = model.config.vocabSize;
  const tok = (i: number) => [3 + ((i * 7919) % (V - 3))];
  await model.forwardBatch(states, states.map((_, j) => tok(j)));  // warm-up
  const t0 = now();
  for (let s = 0; s < steps; s++) await model.forwardBatch(states, states.map((_, j) => tok(s + j)));
  return (states.length * steps) / (now() - t0);
}

export async function runE2E(dir: string, o: E2EOptions): Promise<E2EResult> {
  const log = o.log ?? (() => undefined);
  const t0 = now();
  const model = await RecurrentGemma.load(dir, { threads: o.threads, weights: o.format, hugePages: o.hugePages ?? false, simd: o.simd, precision: o.precision ?? 'exact' });
  const loadSeconds = now() - t0;
  try {
    const V = model.config.vocabSize;
    const rt = model.runtime;
    log(`  loaded ${o.format}, ${rt.precision}${o.hugePages ? ' (huge pages)' : ''} in ${loadSeconds.toFixed(1)} s: ${(rt.streamBytes / 1e9).toFixed(2)} GB per decode step, ${rt.threads} threads, ${rt.simd}`);
    // Time to first token: a 128-token prompt on a fresh state.
    const first = model.createState();
    const t1 = now();
    await model.forward(first, syntheticTokens(128, V, 1));
    const ttftSeconds = now() - t1;
    first.dispose();
    log(`  time to first token (128-token prompt): ${ttftSeconds.toFixed(3)} s`);

    const prefill: PrefillPoint[] = [];
    for (const n of o.prefillLengths) {
      const s = model.createState();
      const ids = syntheticTokens(n, V, n);
      const ts = now();
      await model.forward(s, ids);
      const seconds = now() - ts;
      s.dispose();
      prefill.push({ tokens: n, seconds, tokensPerSecond: n / seconds });
      log(`  prefill ${n}: ${(n / seconds).toFixed(1)} tok/s`);
    }

    const decode: DecodePoint[] = [];
    const base = model.createState();
    await model.forward(base, syntheticTokens(16, V, 3));
    for (const p of o.positions) {
      const s = base.clone();
      if (p > 0) jumpTo(s, p);
      else s.reset();
      const tps = await timedDecode(model, [s], o.decodeSteps);
      decode.push({ position: p, batch: 1, tokensPerSecond: tps, rssBytes: process.memoryUsage().rss, stateBytes: s.byteLength });
      s.dispose();
      log(`  decode @${p}: ${tps.toFixed(2)} tok/s, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
    }

    const batch: DecodePoint[] = [];
    for (const b of o.batches) {
      const states = Array.from({ length: b }, () => base.clone());
      const tps = await timedDecode(model, states, o.decodeSteps);
      batch.push({ position: base.position, batch: b, tokensPerSecond: tps, rssBytes: process.memoryUsage().rss, stateBytes: states.reduce((a, s) => a + s.byteLength, 0) });
      for (const s of states) s.dispose();
      log(`  batch ${b}: ${tps.toFixed(2)} tok/s total`);
    }
    base.dispose();
    return { format: o.format, precision: rt.precision, hugePages: o.hugePages ?? false, threads: rt.threads, simd: rt.simd, loadSeconds, streamBytes: rt.streamBytes, ttftSeconds, prefill, decode, batch };
  } finally {
    model.dispose();
  }
}

/**
 * A folder that is `dir` with another attention window: config.json rewritten, weights linked.
 * Used to run the same kernels as a transformer with global attention (window >= sequence).
 */
export function withWindow(dir: string, window: number): string {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-window-'));
  for (const name of fs.readdirSync(dir)) {
    const from = path.join(path.resolve(dir), name);
    if (name === 'config.json') {
      const c = JSON.parse(fs.readFileSync(from, 'utf8')) as Record<string, unknown>;
      c.attention_window_size = window;
      fs.writeFileSync(path.join(out, name), JSON.stringify(c));
    } else fs.symlinkSync(from, path.join(out, name));
  }
  return out;
}

export interface WindowPoint {
  position: number;
  griffinTokensPerSecond: number;
  transformerTokensPerSecond: number;
  /** Measured state bytes of Griffin (constant) and the KV cache a global-attention model holds at this position. */
  griffinStateBytes: number;
  transformerCacheBytes: number;
}

/**
 * Griffin (local attention, window W) against the same network with global attention (window =
 * the longest position), decoding at growing positions.
 */
export async function runWindowComparison(dir: string, o: { threads: number; format: WeightFormat; simd?: E2EOptions['simd']; positions: number[]; decodeSteps: number; log?: (s: string) => void }): Promise<WindowPoint[]> {
  const log = o.log ?? (() => undefined);
  const maxPos = Math.max(...o.positions);
  const global = withWindow(dir, maxPos + o.decodeSteps + 2);
  const results: WindowPoint[] = [];
  try {
    const measure = async (d: string) => {
      const model = await RecurrentGemma.load(d, { threads: o.threads, weights: o.format, simd: o.simd });
      try {
        const base = model.createState();
        await model.forward(base, syntheticTokens(16, model.config.vocabSize, 3));
        const out: { tps: number; bytes: number }[] = [];
        for (const p of o.positions) {
          const s = base.clone();
          jumpTo(s, p);
          out.push({ tps: await timedDecode(model, [s], o.decodeSteps), bytes: s.byteLength });
          s.dispose();
        }
        base.dispose();
        return { out, config: model.config };
      } finally {
        model.dispose();
      }
    };
    const g = await measure(dir);
    const t = await measure(global);
    const c = g.config;
    const attentionLayers = c.blockTypes.filter((b) => b === 'attention').length;
    const recurrent = stateFloatsByKind(c).recurrent * STATE_BYTES_PER_VALUE;
    o.positions.forEach((p, i) => {
      // A global-attention model caches K and V (one KV head) for every position so far.
      const kv = attentionLayers * attentionLayerFloats(c.headDim, p + 1) * STATE_BYTES_PER_VALUE;
      results.push({ position: p, griffinTokensPerSecond: g.out[i]!.tps, transformerTokensPerSecond: t.out[i]!.tps, griffinStateBytes: g.out[i]!.bytes, transformerCacheBytes: kv + recurrent });
      log(`  @${p}: griffin ${g.out[i]!.tps.toFixed(2)} tok/s, global attention ${t.out[i]!.tps.toFixed(2)} tok/s`);
    });
  } finally {
    fs.rmSync(global, { recursive: true, force: true });
  }
  return results;
}
