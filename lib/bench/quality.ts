/**
 * What quantization costs in model quality: the logits of a quantized model against the same
 * checkpoint run unquantized, over one token sequence (teacher forcing): top-1 agreement, the KL
 * divergence of the next-token distributions and the perplexity of the sequence under each.
 */
import * as fs from 'fs';
import * as path from 'path';

import type { WeightFormat } from '../checkpoint';
import { RecurrentGemma } from '../model';
import { logSumExp } from '../scoring/logprobs';

export interface QualityResult {
  /** The candidate's weight format. */
  format: WeightFormat;
  tokens: number;
  /** Fraction of positions where both pick the same most likely next token. */
  top1Agreement: number;
  /** Mean and largest KL(reference || quantized) of the next-token distributions, in nats. */
  klMean: number;
  klMax: number;
  /** Perplexity of the sequence's own next tokens under the reference and the quantized model. */
  perplexityReference: number;
  perplexity: number;
}

function logSoftmax(x: Float32Array, offset: number, n: number, out: Float64Array): void {
  const row = x.subarray(offset, offset + n);
  const lse = logSumExp(row);
  for (let i = 0; i < n; i++) out[i] = row[i]! - lse;
}

/** The comparison figures of two runs' logits (QualityResult without the format). */
export type LogitsComparison = Omit<QualityResult, 'format'>;

/**
 * Accumulates the comparison of two runs' logits over several sequences: top-1 agreement and KL at
 * every compared row, perplexity of each row's next token where the sequence has one.
 */
export class LogitsAgreement {
  private rows = 0;
  private agree = 0;
  private klSum = 0;
  private klMax = 0;
  private scored = 0;
  private nllRef = 0;
  private nll = 0;
  private lp: Float64Array = new Float64Array(0);
  private lq: Float64Array = new Float64Array(0);

  /**
   * Adds rows [from, to) of two all-position runs over `tokens` (row-major [T, V]); row t predicts
   * tokens[t + 1].
   */
  add(reference: Float32Array, candidate: Float32Array, tokens: ArrayLike<number>, V: number, from = 0, to = tokens.length): void {
    if (this.lp.length !== V) {
      this.lp = new Float64Array(V);
      this.lq = new Float64Array(V);
    }
    const { lp, lq } = this;
    for (let t = from; t < to; t++) {
      logSoftmax(reference, t * V, V, lp);
      logSoftmax(candidate, t * V, V, lq);
      let kl = 0, bp = 0, bq = 0;
      for (let i = 0; i < V; i++) {
        kl += Math.exp(lp[i]!) * (lp[i]! - lq[i]!);
        if (lp[i]! > lp[bp]!) bp = i;
        if (lq[i]! > lq[bq]!) bq = i;
      }
      this.rows++;
      this.agree += bp === bq ? 1 : 0;
      this.klSum += kl;
      this.klMax = Math.max(this.klMax, kl);
      if (t + 1 < tokens.length) {
        this.scored++;
        this.nllRef -= lp[tokens[t + 1]!]!;
        this.nll -= lq[tokens[t + 1]!]!;
      }
    }
  }

  result(): LogitsComparison {
    const T = this.rows;
    const n = Math.max(1, this.scored);
    return { tokens: T, top1Agreement: this.agree / T, klMean: this.klSum / T, klMax: this.klMax, perplexityReference: Math.exp(this.nllRef / n), perplexity: Math.exp(this.nll / n) };
  }
}

/** Compares all-position logits of two runs over `tokens` (row-major [T, V]). */
export function compareLogits(reference: Float32Array, candidate: Float32Array, tokens: ArrayLike<number>, V: number): LogitsComparison {
  const a = new LogitsAgreement();
  a.add(reference, candidate, tokens, V);
  return a.result();
}

/** Runs `dir` unquantized and as `format` over `tokens`; compares the logits. */
export async function measureQuality(dir: string, format: Exclude<WeightFormat, 'stored'>, tokens: number[], options: { threads?: number } = {}): Promise<QualityResult> {
  const run = async (weights: WeightFormat) => {
    const model = await RecurrentGemma.load(dir, { weights, threads: options.threads });
    try {
      return { logits: await model.forward(model.createState(), tokens, { allLogits: true }), V: model.config.vocabSize };
    } finally {
      model.dispose();
    }
  };
  const ref = await run('stored');
  const q = await run(format);
  return { format, ...compareLogits(ref.logits, q.logits, tokens, ref.V) };
}

/**
 * The demo model's evaluation text: its golden greedy continuations (prompt + continuation ids of
 * every case), i.e. Python code the model itself writes.
 */
export function demoEvaluationTokens(demoDir: string): number[] {
  const golden = JSON.parse(fs.readFileSync(path.join(demoDir, 'golden.json'), 'utf8')) as { cases: { prompt_ids: number[]; greedy_ids: number[] }[] };
  return golden.cases.flatMap((c) => [...c.prompt_ids, ...c.greedy_ids]);
}
