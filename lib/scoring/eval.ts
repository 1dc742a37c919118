/**
 * Multiple-choice evaluation by log-likelihood, in lm-evaluation-harness's convention: for each
 * item, every choice is scored as a continuation of the context; `acc` counts items whose most
 * likely choice (sum of its tokens' log-probabilities) is the gold one, `acc_norm` the same with
 * each sum divided by the choice's length in UTF-8 bytes (the harness divides by characters,
 * which is the same for ASCII text).
 *
 * A few-shot prefix shared by all items is prefilled once; each item continues a clone of that
 * state, and each choice a clone of the item's context state, so neither the prefix nor the
 * context is ever run twice.
 */
import { InvalidArgumentError } from '../errors';
import type { ModelState } from '../state';
import type { Tokenizer } from '../tokenizer';
import { resolveScoreOptions, scoreFrom, type ScoringModel } from './score';

/** One multiple-choice item: the context, the candidate continuations and the correct one's index. */
export interface EvalItem {
  context: string;
  choices: string[];
  gold: number;
}

/** Options of evaluate(). */
export interface EvalOptions {
  /** Text before every item's context (few-shot examples), prefilled once; encoded with `<bos>` first. */
  prefix?: string;
  /** Tokens per forward pass while scoring (default 256). */
  chunkSize?: number;
  /** Aborting stops between choices; evaluate() then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Called after every item. */
  onProgress?: (progress: EvalProgress) => void;
}

/** Progress of evaluate(): items done so far and the running accuracies. */
export interface EvalProgress {
  done: number;
  total: number;
  acc: number;
  accNorm: number;
}

/** What evaluate() found for one item. */
export interface EvalItemResult {
  /** Sum of the log-probabilities of each choice's tokens given the prefix and context. */
  logLikelihoods: number[];
  /** Tokens of each choice's continuation. */
  tokenCounts: number[];
  /** UTF-8 bytes of each choice (the acc_norm divisor). */
  byteLengths: number[];
  gold: number;
  /** Index of the most likely choice (first on ties). */
  prediction: number;
  /** Index of the most likely choice per byte. */
  predictionNorm: number;
}

/** The result of evaluate(): accuracies with their standard errors (sample std / sqrt(n), as the harness). */
export interface EvalSummary {
  items: number;
  acc: number;
  accStderr: number;
  accNorm: number;
  accNormStderr: number;
  results: EvalItemResult[];
}

/** The error for a malformed task file (names the file and line). */
export function taskError(where: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError(`${where}: ${message}`, 'ERR_RG_EVAL_TASK');
}

/** Checks one item (from an API caller or a parsed line); `where` names it in errors. */
export function checkEvalItem(item: unknown, where: string): EvalItem {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) throw taskError(where, 'an item must be an object { context, choices, gold }');
  const { context, choices, gold } = item as Record<string, unknown>;
  if (typeof context !== 'string') throw taskError(where, '"context" must be a string');
  if (!Array.isArray(choices) || choices.length === 0) throw taskError(where, '"choices" must be a non-empty array of strings');
  choices.forEach((c, i) => {
    if (typeof c !== 'string' || c.length === 0) throw taskError(where, `"choices"[${i}] must be a non-empty string`);
  });
  if (typeof gold !== 'number' || !Number.isInteger(gold) || gold < 0 || gold >= choices.length)
    throw taskError(where, `"gold" must be an integer index into "choices" (0..${choices.length - 1}), got ${JSON.stringify(gold)}`);
  return { context, choices: choices as string[], gold };
}

/** Parses a JSONL task file: one { context, choices, gold } object per non-empty line. */
export function parseTasks(text: string, file = 'tasks'): EvalItem[] {
  const items: EvalItem[] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      throw taskError(`${file}:${i + 1}`, `not valid JSON (${(e as Error).message})`);
    }
    items.push(checkEvalItem(value, `${file}:${i + 1}`));
  });
  if (items.length === 0) throw taskError(file, 'no items (expected one JSON object per line)');
  return items;
}

/**
 * Context and continuation tokens of one choice, as the harness splits them: trailing
 * whitespace of the context moves to the continuation, context + continuation is encoded as one
 * text, and the continuation is what follows the context's own encoding's length.
 */
export function splitChoice(tokenizer: Tokenizer, context: string, choice: string, addBos: boolean): { context: number[]; continuation: number[] } {
  const trimmed = context.replace(/\s+$/u, '');
  const continuation = context.slice(trimmed.length) + choice;
  const whole = tokenizer.encode(trimmed + continuation, { addBos });
  const n = tokenizer.encode(trimmed, { addBos }).length;
  return { context: whole.slice(0, n), continuation: whole.slice(n) };
}

function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i]! > values[best]!) best = i;
  return best;
}

function stderrOfMean(hits: number, n: number): number {
  if (n < 2) return 0;
  const p = hits / n;
  return Math.sqrt((p * (1 - p)) / (n - 1)); // sample std (n - 1) / sqrt(n) of 0/1 values
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Runs `items`; see the module comment. */
export async function evaluate(model: ScoringModel, tokenizer: Tokenizer, items: readonly EvalItem[], options: EvalOptions = {}): Promise<EvalSummary> {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  if (!Array.isArray(items) || items.length === 0) throw new InvalidArgumentError('evaluate needs a non-empty array of items');
  const checked = items.map((item, i) => checkEvalItem(item, `items[${i}]`));
  if (options.prefix !== undefined && typeof options.prefix !== 'string') throw new InvalidArgumentError('prefix must be a string');
  const { prefix, onProgress } = options;
  const o = resolveScoreOptions({ chunkSize: options.chunkSize, signal: options.signal });
  if (onProgress !== undefined && typeof onProgress !== 'function') throw new InvalidArgumentError('onProgress must be a function');

  // The shared start: the prefilled prefix (and the logits predicting what follows it), or nothing.
  let base: { state: ModelState; last: Float32Array } | null = null;
  const hasPrefix = prefix !== undefined && prefix.length > 0;
  const owned: ModelState[] = [];
  try {
    if (hasPrefix) {
      const state = model.createState();
      owned.push(state);
      base = { state, last: await model.forward(state, tokenizer.encode(prefix, { addBos: true })) };
    }
    const results: EvalItemResult[] = [];
    let hits = 0, hitsNorm = 0;
    for (const item of checked) {
      o.signal?.throwIfAborted();
      const split = item.choices.map((c) => splitChoice(tokenizer, item.context, c, !hasPrefix));
      split.forEach((s, i) => {
        if (s.continuation.length === 0) throw taskError(`item ${results.length}`, `choice ${i} encodes to no tokens after the context`);
      });
      // Choices whose context encodes the same share one prefilled context state.
      const contexts: { ids: number[]; state: ModelState; last: Float32Array }[] = [];
      const logLikelihoods: number[] = [];
      try {
        for (const s of split) {
          let ctx = contexts.find((c) => sameIds(c.ids, s.context));
          if (!ctx) {
            const state = base ? base.state.clone() : model.createState();
            contexts.push({ ids: s.context, state, last: base?.last ?? new Float32Array(0) });
            ctx = contexts[contexts.length - 1]!;
            // Without a prefix the context holds at least <bos>; with one it may be empty.
            if (s.context.length > 0) ctx.last = await model.forward(state, s.context);
          }
          const state = ctx.state.clone();
          try {
            const span = await scoreFrom(model, state, ctx.last, Int32Array.from(s.continuation), o);
            logLikelihoods.push(span.logLikelihood);
          } finally {
            state.dispose();
          }
        }
      } finally {
        for (const c of contexts) c.state.dispose();
      }
      const byteLengths = item.choices.map((c) => Buffer.byteLength(c, 'utf8'));
      const prediction = argmax(logLikelihoods);
      const predictionNorm = argmax(logLikelihoods.map((ll, i) => ll / byteLengths[i]!));
      hits += prediction === item.gold ? 1 : 0;
      hitsNorm += predictionNorm === item.gold ? 1 : 0;
      results.push({ logLikelihoods, tokenCounts: split.map((s) => s.continuation.length), byteLengths, gold: item.gold, prediction, predictionNorm });
      onProgress?.({ done: results.length, total: checked.length, acc: hits / results.length, accNorm: hitsNorm / results.length });
    }
    const n = results.length;
    return { items: n, acc: hits / n, accStderr: stderrOfMean(hits, n), accNorm: hitsNorm / n, accNormStderr: stderrOfMean(hitsNorm, n), results };
  } finally {
    for (const s of owned) s.dispose();
  }
}
