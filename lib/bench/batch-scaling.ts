/**
 * Decode throughput against batch size: B sequences advanced together by forwardBatch (one token
 * each per step, the weights read once per step for all of them) against one sequence at a time,
 * and the per-sequence state size next to a same-shape transformer's KV cache.
 */
import { argmax } from '../generation/sampler';
import { RecurrentGemma, type LoadOptions } from '../model';
import { formatStateSizeReport, stateSizeReport } from '../state';

export interface BatchScalingOptions {
  /** Batch sizes to measure (the first is the baseline of the ratios). */
  batches: number[];
  /** Timed decode steps per run. */
  steps: number;
  /** Timed runs per batch size; the best counts. */
  repeat: number;
  /** Prompt length prefilled before decoding. */
  prompt: number;
  threads?: number;
  simd?: LoadOptions['simd'];
  /** Context lengths of the state-size table. */
  contexts: number[];
}

export interface BatchScalingRow {
  batch: number;
  seconds: number;
  tokensPerSecond: number;
  msPerStep: number;
  /** Tokens per second of process CPU time (all threads): far less disturbed on a busy machine. */
  cpuTokensPerSecond: number;
}

async function measure(model: RecurrentGemma, B: number, o: BatchScalingOptions): Promise<BatchScalingRow> {
  const V = model.config.vocabSize;
  const states = Array.from({ length: B }, () => model.createState());
  try {
    // Distinct prompts so the sequences really differ.
    const prompts = states.map((_, b) => Array.from({ length: o.prompt }, (_, t) => (7 + 31 * b + 13 * t) % V));
    let logits = await model.forwardBatch(states, prompts);
    const step = async () => {
      logits = await model.forwardBatch(states, logits.map((l) => [argmax(l)]));
    };
    for (let i = 0; i < 2; i++) await step(); // warm-up: page in weights, size buffers
    let seconds = Infinity, cpuSeconds = Infinity;
    for (let k = 0; k < o.repeat; k++) {
      const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
      for (let i = 0; i < o.steps; i++) await step();
      const c = process.cpuUsage(c0);
      seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
      cpuSeconds = Math.min(cpuSeconds, (c.user + c.system) / 1e6);
    }
    return { batch: B, seconds, tokensPerSecond: (B * o.steps) / seconds, msPerStep: (1000 * seconds) / o.steps, cpuTokensPerSecond: (B * o.steps) / cpuSeconds };
  } finally {
    for (const s of states) s.dispose();
  }
}

/** Measures every batch size on `dir` and prints the table, then the state-size comparison. */
export async function runBatchScaling(dir: string | undefined, o: BatchScalingOptions, print: (s: string) => void): Promise<BatchScalingRow[]> {
  const model = await RecurrentGemma.load(dir, { threads: o.threads, simd: o.simd });
  try {
    const c = model.config;
    const info = model.runtime;
    print(`model: ${dir ?? '(embedded tiny-python)'} width ${c.width}, lru_width ${c.lruWidth}, ${c.numLayers} layers, vocab ${c.vocabSize}, dtype ${model.dtype}`);
    print(`runtime: simd ${info.simd}, ${info.threads} threads; prompt ${o.prompt} tokens, best of ${o.repeat} runs of ${o.steps} decode steps per batch size`);
    print('');
    print('batch   ms/step   total tok/s   per-seq tok/s   vs batch 1   tok per CPU-s   vs batch 1');
    const rows: BatchScalingRow[] = [];
    const f = (v: number) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));
    for (const B of o.batches) {
      const r = await measure(model, B, o);
      rows.push(r);
      const base = rows[0]!;
      print(
        `${String(B).padStart(5)}   ${f(r.msPerStep).padStart(7)}   ${f(r.tokensPerSecond).padStart(11)}   ${f(r.tokensPerSecond / B).padStart(13)}   ` +
          `${(r.tokensPerSecond / base.tokensPerSecond).toFixed(2).padStart(9)}x   ${f(r.cpuTokensPerSecond).padStart(13)}   ${(r.cpuTokensPerSecond / base.cpuTokensPerSecond).toFixed(2).padStart(9)}x`,
      );
    }
    print('');
    print('memory per sequence:');
    print(formatStateSizeReport(stateSizeReport(c, o.contexts)));
    return rows;
  } finally {
    model.dispose();
  }
}
