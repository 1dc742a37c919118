/**
 * Scoring: score() against log-softmax of forward(..., { allLogits: true }) computed here in
 * float64 without the max-subtraction trick (the logits are soft-capped to ±30, so exp() cannot
 * overflow in float64), against the official PyTorch implementation's logits of the fixture,
 * chunked against one-pass, the demo model's perplexity against the README's quality table, and
 * the multiple-choice evaluation's log-likelihoods against score().
 */
import * as fs from 'fs';
import * as path from 'path';

import { DEFAULT_MODEL_DIR, InvalidArgumentError, RecurrentGemma } from '../lib';
import { compareLogits, demoEvaluationTokens } from '../lib/bench/quality';
import { evaluate, parseTasks, splitChoice, type EvalItem } from '../lib/scoring/eval';
import { logSumExp, topLogprobs } from '../lib/scoring/logprobs';
import type { ScoreInput, ScoreOptions } from '../lib/scoring/score';
import { readGolden } from './helpers/safetensors';

const fixtureDir = path.join(__dirname, 'fixtures', 'tiny-f32');
const golden = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'golden.json'), 'utf8')) as {
  cases: { name: string; prompt: string; prompt_ids: number[]; greedy_ids: number[]; greedy_text: string }[];
};

/** log p(ids[t + 1] | ids[..t]) from row-major [T, V] logits, as plain float64 sums. */
function referenceLogprobs(logits: Float32Array, ids: ArrayLike<number>, V: number): number[] {
  const out: number[] = [];
  for (let t = 0; t + 1 < ids.length; t++) {
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(logits[t * V + i]!);
    out.push(logits[t * V + ids[t + 1]!]! - Math.log(sum));
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

let demo: RecurrentGemma;
let fixture: RecurrentGemma;
const scoreOn = (m: RecurrentGemma, input: ScoreInput, options?: ScoreOptions) => m.score(input, options);

beforeAll(async () => {
  demo = await RecurrentGemma.load(DEFAULT_MODEL_DIR);
  fixture = await RecurrentGemma.load(fixtureDir);
});
afterAll(() => {
  demo?.dispose();
  fixture?.dispose();
});

describe('log-softmax helpers', () => {
  test('logSumExp is exact where a float32 sum would not be, and handles banned (-Infinity) entries', () => {
    const row = new Float32Array(262144).fill(-3);
    row[5] = 30;
    // Every term is a float32 value: the exact answer in float64 arithmetic.
    const want = 30 + Math.log(1 + 262143 * Math.exp(-33));
    expect(logSumExp(row)).toBeCloseTo(want, 10); // a float32 sum would give exactly 30
    row.fill(-Infinity);
    row[7] = 1.5;
    expect(logSumExp(row)).toBe(1.5);
    expect(logSumExp(new Float32Array(4).fill(-Infinity))).toBe(-Infinity);
  });

  test('topLogprobs equals a full sort of the reference log-softmax', () => {
    const V = 4096;
    const row = Float32Array.from({ length: V }, (_, i) => Math.fround(Math.sin(i * 12.9898) * 20));
    let sum = 0;
    for (const x of row) sum += Math.exp(x);
    const reference = Array.from(row, (x, id) => ({ id, logprob: x - Math.log(sum) })).sort((a, b) => b.logprob - a.logprob || a.id - b.id);
    const got = topLogprobs(row, 20);
    expect(got.map((t) => t.id)).toEqual(reference.slice(0, 20).map((t) => t.id));
    for (let i = 0; i < 20; i++) expect(got[i]!.logprob).toBeCloseTo(reference[i]!.logprob, 10);
  });
});

describe('score()', () => {
  test('equals log-softmax of forward(allLogits) on the demo model (text input: <bos> + every text token scored)', async () => {
    const c = golden.cases[0]!;
    const text = c.prompt + c.greedy_text;
    const r = await scoreOn(demo, text);
    const ids = demo.tokenizer.encode(text, { addBos: true });
    expect(Array.from(r.tokens)).toEqual(ids);
    expect(r.tokens[0]).toBe(demo.config.bosTokenId);
    const logits = await demo.forward(demo.createState(), ids, { allLogits: true });
    const want = referenceLogprobs(logits, ids, demo.config.vocabSize);
    expect(r.scoredTokens).toBe(ids.length - 1);
    expect(maxDiff(r.logprobs, want)).toBeLessThan(1e-4); // one pass vs 256-token chunks: float32 rounding only
    const total = want.reduce((a, b) => a + b, 0);
    expect(r.logLikelihood).toBeCloseTo(total, 2);
    expect(r.perplexity).toBeCloseTo(Math.exp(-total / want.length), 3);
  });

  test("equals log-softmax of the official implementation's logits on the fixture (token ids: ids[0] is context)", async () => {
    const g = readGolden(path.join(fixtureDir, 'golden.safetensors'));
    const ids = Array.from(g.get('input_ids')!.data);
    const official = g.get('logits_full')!.data as Float32Array;
    const V = fixture.config.vocabSize;
    const r = await scoreOn(fixture, ids, { chunkSize: 5 });
    expect(r.logprobs.length).toBe(ids.length - 1);
    expect(maxDiff(r.logprobs, referenceLogprobs(official, ids, V))).toBeLessThan(2e-3);
    const ours = await fixture.forward(fixture.createState(), ids, { allLogits: true });
    expect(maxDiff(r.logprobs, referenceLogprobs(ours, ids, V))).toBeLessThan(1e-4);
  });

  test('chunked scoring equals one-pass scoring, also with alternatives', async () => {
    const ids = demoEvaluationTokens(DEFAULT_MODEL_DIR).slice(0, 300);
    const one = await scoreOn(demo, ids, { chunkSize: 4096, topLogprobs: 5 });
    for (const chunkSize of [1, 7, 64]) {
      const seen: number[] = [];
      const r = await scoreOn(demo, ids, { chunkSize, topLogprobs: 5, onProgress: (p) => seen.push(p.scored) });
      expect(maxDiff(r.logprobs, one.logprobs)).toBeLessThan(1e-4);
      expect(seen.length).toBe(Math.ceil((ids.length - 1) / chunkSize));
      expect(seen[seen.length - 1]).toBe(ids.length - 1);
      expect(r.topLogprobs!.map((alts) => alts[0]!.id)).toEqual(one.topLogprobs!.map((alts) => alts[0]!.id));
    }
    // The alternatives are the reference's most likely tokens, with their text.
    const logits = await demo.forward(demo.createState(), ids.slice(0, 11), { allLogits: true });
    const V = demo.config.vocabSize;
    for (let t = 0; t < 10; t++) {
      const row = Array.from(logits.subarray(t * V, (t + 1) * V));
      const best = row.map((x, id) => ({ id, x })).sort((a, b) => b.x - a.x || a.id - b.id).slice(0, 5);
      expect(one.topLogprobs![t]!.map((a) => a.id)).toEqual(best.map((b) => b.id));
      expect(one.topLogprobs![t]![0]!.text).toBe(demo.tokenizer.decode([best[0]!.id], { skipSpecialTokens: false }));
      // The scored token is among the alternatives exactly when it is likely enough; its logprob agrees then.
      const hit = one.topLogprobs![t]!.find((a) => a.id === ids[t + 1]);
      if (hit) expect(hit.logprob).toBeCloseTo(one.logprobs[t]!, 10);
    }
  });

  test("perplexity of the demo model's golden continuations is the README quality table's 7.287", async () => {
    const ids = demoEvaluationTokens(DEFAULT_MODEL_DIR);
    expect(ids.length).toBe(888);
    const r = await scoreOn(demo, ids);
    expect(r.scoredTokens).toBe(887);
    expect(r.perplexity.toFixed(3)).toBe('7.287');
    const logits = await demo.forward(demo.createState(), ids, { allLogits: true });
    const want = referenceLogprobs(logits, ids, demo.config.vocabSize);
    expect(r.perplexity).toBeCloseTo(Math.exp(-want.reduce((a, b) => a + b, 0) / want.length), 4);
    // The quality benchmark's own computation (teacher-forced, one pass) gives the same figure.
    expect(r.perplexity).toBeCloseTo(compareLogits(logits, logits, ids, demo.config.vocabSize).perplexityReference, 6);
  });

  test('a long text streams through with bounded chunks and matches the sum of its pieces', async () => {
    const ids = demoEvaluationTokens(DEFAULT_MODEL_DIR);
    const long = [...ids, ...ids.slice(1)];
    const fed: number[] = [];
    const forward = demo.forward.bind(demo);
    const spy = jest.spyOn(demo, 'forward').mockImplementation(async (state, tokens, options) => {
      fed.push(tokens.length);
      return forward(state, tokens, options);
    });
    let r;
    try {
      r = await scoreOn(demo, long, { chunkSize: 128 });
    } finally {
      spy.mockRestore();
    }
    // Never more than chunkSize x vocab logits at once; every token but the last is fed exactly once.
    expect(Math.max(...fed)).toBe(128);
    expect(fed.reduce((a, b) => a + b, 0)).toBe(long.length - 1);
    expect(r.scoredTokens).toBe(long.length - 1);
    expect(Number.isFinite(r.logLikelihood)).toBe(true);
    const first = await scoreOn(demo, ids);
    // The first 887 scored tokens see exactly the same prefix.
    expect(maxDiff(r.logprobs.subarray(0, 887), first.logprobs)).toBeLessThan(1e-4);
  });

  test('bad input is refused with a typed error naming the problem', async () => {
    await expect(scoreOn(demo, [2])).rejects.toThrow(/at least 2 token ids/);
    await expect(scoreOn(demo, '')).rejects.toThrow(/no tokens/);
    await expect(scoreOn(demo, [2, 99999])).rejects.toMatchObject({ code: 'ERR_RG_TOKEN_RANGE' });
    await expect(scoreOn(demo, 'x', { topLogprobs: 21 })).rejects.toThrow(/topLogprobs must be an integer in \[0, 20\]/);
    await expect(scoreOn(demo, 'x', { chunkSize: 0 })).rejects.toThrow(InvalidArgumentError);
    await expect(scoreOn(demo, 'x', { bogus: 1 } as unknown as ScoreOptions)).rejects.toThrow(/unknown score option "bogus"/);
    const controller = new AbortController();
    controller.abort();
    await expect(scoreOn(demo, 'def f(x):\n    return x\n', { signal: controller.signal })).rejects.toThrow(/abort/i);
  });
});

describe('evaluate()', () => {
  /** Items whose right answer is the model's own greedy continuation; the distractors are not Python. */
  function pythonItems(): EvalItem[] {
    return golden.cases.slice(0, 4).map((c, i) => {
      const cut = c.greedy_text.indexOf('\n') + 1;
      const right = c.greedy_text.slice(0, Math.max(cut, 12));
      const wrong = ['qq zz qq zz', '<<<>>> ¤¤ ~~', 'lorem ipsum dolor'];
      const choices = [...wrong];
      choices.splice(i % 4, 0, right);
      return { context: c.prompt, choices, gold: i % 4 };
    });
  }

  test("log-likelihoods equal score() of prefix + context + choice; acc counts the argmax; the model's own continuation wins", async () => {
    const items = pythonItems();
    const prefix = 'import os\nimport sys\n\n';
    const progress: number[] = [];
    const summary = await evaluate(demo, demo.tokenizer, items, { prefix, onProgress: (p) => progress.push(p.done) });
    expect(progress).toEqual([1, 2, 3, 4]);
    const prefixIds = demo.tokenizer.encode(prefix, { addBos: true });
    for (const [i, item] of items.entries()) {
      const result = summary.results[i]!;
      for (const [j, choice] of item.choices.entries()) {
        const split = splitChoice(demo.tokenizer, item.context, choice, false);
        const all = [...prefixIds, ...split.context, ...split.continuation];
        const s = await scoreOn(demo, all);
        const n = split.continuation.length;
        const want = Array.from(s.logprobs.subarray(s.logprobs.length - n)).reduce((a, b) => a + b, 0);
        expect(result.tokenCounts[j]).toBe(n);
        expect(result.logLikelihoods[j]).toBeCloseTo(want, 3);
        expect(result.byteLengths[j]).toBe(Buffer.byteLength(choice));
      }
      expect(result.prediction).toBe(item.gold);
    }
    expect(summary.acc).toBe(1);
    expect(summary.accStderr).toBe(0);
  });

  test('the prefix is prefilled once and each context once per item (states are cloned, never re-run)', async () => {
    const items = pythonItems();
    const prefix = 'import os\nimport sys\n\n';
    const prefixIds = demo.tokenizer.encode(prefix, { addBos: true });
    const fed: number[][] = [];
    const forward = demo.forward.bind(demo);
    const spy = jest.spyOn(demo, 'forward').mockImplementation(async (state, tokens, options) => {
      fed.push(Array.from(tokens));
      return forward(state, tokens, options);
    });
    try {
      await evaluate(demo, demo.tokenizer, items, { prefix });
    } finally {
      spy.mockRestore();
    }
    expect(fed.filter((ids) => ids[0] === demo.config.bosTokenId)).toEqual([prefixIds]);
    for (const item of items) {
      const context = splitChoice(demo.tokenizer, item.context, item.choices[0]!, false).context;
      expect(fed.filter((ids) => ids.length === context.length && ids.every((t, i) => t === context[i])).length).toBe(1);
    }
    // Apart from the prefix and the contexts, only the choices' own tokens (all but the last) are fed.
    const choiceTokens = items.reduce((n, item) => n + item.choices.reduce((m, c) => m + splitChoice(demo.tokenizer, item.context, c, false).continuation.length - 1, 0), 0);
    const contextTokens = items.reduce((n, item) => n + splitChoice(demo.tokenizer, item.context, item.choices[0]!, false).context.length, 0);
    expect(fed.reduce((n, ids) => n + ids.length, 0)).toBe(prefixIds.length + contextTokens + choiceTokens);
  });

  test('without a prefix each context starts with <bos>; acc_norm divides by UTF-8 bytes', async () => {
    const item: EvalItem = { context: 'def add(a, b):\n    return', choices: [' a + b\n', ' a + b + a + b + a + b + a + b\n'], gold: 0 };
    const [r] = (await evaluate(demo, demo.tokenizer, [item])).results;
    for (const [j, choice] of item.choices.entries()) {
      const split = splitChoice(demo.tokenizer, item.context, choice, true);
      expect(split.context[0]).toBe(demo.config.bosTokenId);
      const s = await scoreOn(demo, [...split.context, ...split.continuation]);
      const want = Array.from(s.logprobs.subarray(s.logprobs.length - split.continuation.length)).reduce((a, b) => a + b, 0);
      expect(r!.logLikelihoods[j]).toBeCloseTo(want, 3);
    }
    const perByte = r!.logLikelihoods.map((ll, j) => ll / Buffer.byteLength(item.choices[j]!));
    expect(r!.predictionNorm).toBe(perByte[0]! >= perByte[1]! ? 0 : 1);
    expect(r!.prediction).toBe(r!.logLikelihoods[0]! >= r!.logLikelihoods[1]! ? 0 : 1);
  });

  test("trailing whitespace of the context moves to the choice (the harness's split)", () => {
    const t = demo.tokenizer;
    const s = splitChoice(t, 'x = ', '1', true);
    expect(s.context).toEqual(t.encode('x =', { addBos: true }));
    expect(t.decode(s.continuation)).toBe(' 1');
    expect([...s.context, ...s.continuation]).toEqual(t.encode('x = 1', { addBos: true }));
  });

  test('an aborted signal stops the evaluation; bad options are refused', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(evaluate(demo, demo.tokenizer, pythonItems(), { signal: controller.signal })).rejects.toThrow(/abort/i);
    await expect(evaluate(demo, demo.tokenizer, [])).rejects.toThrow(/non-empty array of items/);
    await expect(evaluate(demo, demo.tokenizer, [{ context: 'a', choices: ['b'], gold: 2 }])).rejects.toThrow(/items\[0\]: "gold" must be an integer index/);
  });

  test('task files: malformed lines are refused naming the file and line', () => {
    expect(parseTasks('{"context":"a","choices":["b","c"],"gold":1}\n\n', 't.jsonl')).toEqual([{ context: 'a', choices: ['b', 'c'], gold: 1 }]);
    expect(() => parseTasks('{"context":"a","choices":["b"],"gold":0}\n{oops', 't.jsonl')).toThrow(/t\.jsonl:2: not valid JSON/);
    expect(() => parseTasks('{"context":"a","choices":["b"],"gold":1}', 't.jsonl')).toThrow(/t\.jsonl:1: "gold" must be an integer index into "choices" \(0\.\.0\), got 1/);
    expect(() => parseTasks('{"context":1,"choices":["b"],"gold":0}', 't.jsonl')).toThrow(/"context" must be a string/);
    expect(() => parseTasks('{"context":"a","choices":[],"gold":0}', 't.jsonl')).toThrow(/"choices" must be a non-empty array/);
    expect(() => parseTasks('\n', 't.jsonl')).toThrow(/no items/);
    try {
      parseTasks('[1]', 't.jsonl');
    } catch (e) {
      expect(e).toBeInstanceOf(InvalidArgumentError);
      expect((e as InvalidArgumentError).code).toBe('ERR_RG_EVAL_TASK');
    }
  });
});
