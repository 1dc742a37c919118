/**
 * The precision benchmark (README "Precision"): what `fast` costs in accuracy against `exact`, on
 * the demo model's golden continuations (stored weights, and quantized at load to int8 / q4: fast
 * vs exact on the same weights), and what it gains in prefill speed on a 2B-shaped checkpoint
 * (RecurrentGemma-2B widths, synthetic BF16 weights, `layers` layers of the 2B pattern; tokens/s
 * is also projected to the 2B's 26 layers from the per-layer time).
 */
import * as fs from 'fs';
import * as path from 'path';

import type { WeightFormat } from '../checkpoint';
import { DEFAULT_MODEL_DIR, RecurrentGemma } from '../model';
import { synthesizeCheckpoint } from '../synth';
import { argmax } from '../generation/sampler';
import { LogitsAgreement, type LogitsComparison } from './quality';

export interface PrecisionOptions {
  /** Prompt length of the prefill timing (default 512). */
  tokens: number;
  /** Layers of the 2B-shaped checkpoint (default 3). */
  layers: number;
  /** Timed repetitions; the best counts (default 3). */
  reps: number;
  threads?: number;
  /** Folder for the 2B-shaped checkpoint (written once, reused). */
  checkpointDir: string;
  /** Skip the prefill timing (accuracy on the demo model only). */
  accuracyOnly?: boolean;
  log?: (s: string) => void;
}

export interface PrecisionAccuracy extends LogitsComparison {
  weights: WeightFormat;
  simd: string;
  cases: number;
  /** Golden greedy tokens reproduced before the first divergence, summed over the cases. */
  greedyExact: number;
  greedyFast: number;
  greedyTotal: number;
}

export interface PrecisionSpeed {
  tokens: number;
  layers: number;
  simd: string;
  threads: number;
  reps: number;
  /** Best wall seconds and process CPU seconds of one prefill, per precision. */
  wallSeconds: { exact: number; fast: number };
  cpuSeconds: { exact: number; fast: number };
}

interface GoldenCase {
  prompt_ids: number[];
  greedy_ids: number[];
}

/** Golden tokens greedy decoding reproduces before it first picks another token. */
async function greedySteps(model: RecurrentGemma, c: GoldenCase): Promise<number> {
  const state = model.createState();
  try {
    let logits = await model.forward(state, c.prompt_ids);
    let steps = 0;
    for (const want of c.greedy_ids) {
      if (argmax(logits) !== want) break;
      steps++;
      logits = await model.forward(state, [want]);
    }
    return steps;
  } finally {
    state.dispose();
  }
}

/** fast against exact on the demo model's golden continuations (teacher-forced), with `weights`. */
export async function precisionAccuracy(weights: WeightFormat, threads?: number): Promise<PrecisionAccuracy> {
  const golden = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'golden.json'), 'utf8')) as { cases: GoldenCase[] };
  const exact = await RecurrentGemma.load(DEFAULT_MODEL_DIR, { threads, weights });
  const fast = await RecurrentGemma.load(DEFAULT_MODEL_DIR, { threads, weights, precision: 'fast' });
  try {
    const V = exact.config.vocabSize;
    const agreement = new LogitsAgreement();
    let greedyExact = 0, greedyFast = 0, greedyTotal = 0;
    for (const c of golden.cases) {
      const ids = [...c.prompt_ids, ...c.greedy_ids];
      const a = await exact.forward(exact.createState(), ids, { allLogits: true });
      const b = await fast.forward(fast.createState(), ids, { allLogits: true });
      // The rows that predict the continuation: from the prompt's last token on.
      agreement.add(a, b, ids, V, c.prompt_ids.length - 1, ids.length - 1);
      greedyExact += await greedySteps(exact, c);
      greedyFast += await greedySteps(fast, c);
      greedyTotal += c.greedy_ids.length;
    }
    return { weights, simd: fast.runtime.simd, cases: golden.cases.length, ...agreement.result(), greedyExact, greedyFast, greedyTotal };
  } finally {
    exact.dispose();
    fast.dispose();
  }
}

/** Prefill time of `tokens` tokens, exact and fast, on a 2B-shaped checkpoint of `layers` layers. */
export async function precisionSpeed(o: PrecisionOptions): Promise<PrecisionSpeed> {
  if (!fs.existsSync(path.join(o.checkpointDir, 'config.json'))) {
    o.log?.(`writing a 2B-shaped BF16 checkpoint with ${o.layers} layers to ${o.checkpointDir}...`);
    synthesizeCheckpoint(o.checkpointDir, { preset: '2b', overrides: { num_hidden_layers: o.layers }, dtype: 'bf16' });
  }
  const ids = Array.from({ length: o.tokens }, (_, i) => 3 + ((i * 7919) % 255000));
  const models = { exact: await RecurrentGemma.load(o.checkpointDir, { threads: o.threads }), fast: await RecurrentGemma.load(o.checkpointDir, { threads: o.threads, precision: 'fast' }) };
  try {
    // Wall time and process CPU time (all threads; the pool's workers sleep when idle), best of
    // reps: on a shared machine CPU time / threads estimates the wall time on dedicated cores.
    const wallSeconds = { exact: Infinity, fast: Infinity }, cpuSeconds = { exact: Infinity, fast: Infinity };
    for (let r = 0; r < o.reps; r++)
      for (const p of ['exact', 'fast'] as const) {
        // Interleaved: both precisions see the same machine load.
        const state = models[p].createState();
        const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
        await models[p].forward(state, ids);
        const c = process.cpuUsage(c0);
        wallSeconds[p] = Math.min(wallSeconds[p], Number(process.hrtime.bigint() - t0) / 1e9);
        cpuSeconds[p] = Math.min(cpuSeconds[p], (c.user + c.system) / 1e6);
        state.dispose();
      }
    return { tokens: o.tokens, layers: o.layers, simd: models.fast.runtime.simd, threads: models.fast.runtime.threads, reps: o.reps, wallSeconds, cpuSeconds };
  } finally {
    models.exact.dispose();
    models.fast.dispose();
  }
}

export function formatPrecisionAccuracy(a: PrecisionAccuracy): string {
  return [
    `accuracy (demo model, weights ${a.weights}, ${a.cases} golden continuations, ${a.tokens} teacher-forced positions, ${a.simd}):`,
    `  top-1 agreement fast vs exact: ${(100 * a.top1Agreement).toFixed(2)} %`,
    `  KL(exact || fast): mean ${a.klMean.toExponential(2)} nats, max ${a.klMax.toExponential(2)}`,
    `  perplexity of the golden continuations: exact ${a.perplexityReference.toFixed(5)}, fast ${a.perplexity.toFixed(5)}`,
    `  golden greedy steps reproduced: exact ${a.greedyExact}/${a.greedyTotal}, fast ${a.greedyFast}/${a.greedyTotal}`,
  ].join('\n');
}

export function formatPrecisionSpeed(s: PrecisionSpeed): string {
  const perLayer = 26 / s.layers;
  const lines = [`prefill ${s.tokens} tokens, 2B-shaped BF16 (${s.layers} layers), ${s.simd}, ${s.threads} threads, best of ${s.reps}:`];
  for (const p of ['exact', 'fast'] as const) {
    const wall = s.wallSeconds[p], dedicated = s.cpuSeconds[p] / s.threads;
    lines.push(
      `  ${p}: wall ${wall.toFixed(2)} s = ${(s.tokens / wall).toFixed(1)} tokens/s (26 layers: ${(s.tokens / (wall * perLayer)).toFixed(1)}); ` +
        `CPU ${s.cpuSeconds[p].toFixed(2)} s -> on ${s.threads} dedicated cores ${(s.tokens / dedicated).toFixed(1)} tokens/s (26 layers: ${(s.tokens / (dedicated * perLayer)).toFixed(1)})`,
    );
  }
  lines.push(`  fast / exact speed: wall ${(s.wallSeconds.exact / s.wallSeconds.fast).toFixed(2)}x, CPU time ${(s.cpuSeconds.exact / s.cpuSeconds.fast).toFixed(2)}x`);
  return lines.join('\n');
}

/** The whole precision benchmark: accuracy for every weight format, then (unless accuracyOnly) prefill speed. */
export async function runPrecisionBench(o: PrecisionOptions, print: (s: string) => void): Promise<{ accuracy: PrecisionAccuracy[]; speed: PrecisionSpeed | null }> {
  const accuracy: PrecisionAccuracy[] = [];
  for (const weights of ['stored', 'int8', 'q4'] as const) {
    const a = await precisionAccuracy(weights, o.threads);
    accuracy.push(a);
    print(formatPrecisionAccuracy(a));
  }
  if (o.accuracyOnly) return { accuracy, speed: null };
  const speed = await precisionSpeed(o);
  print(formatPrecisionSpeed(speed));
  return { accuracy, speed };
}
