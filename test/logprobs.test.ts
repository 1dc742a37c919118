/**
 * Log-probabilities on generation chunks and logit bias, on the demo model: chunk logprobs equal
 * log-softmax of the forward logits at that step (recomputed here in plain float64, by replaying
 * the sampled tokens), -100 never emits a token the unbiased runs do emit, +100 always emits it,
 * in generate / complete / generateBatch / ChatSession, plus validation.
 */
import { DEFAULT_MODEL_DIR, InvalidArgumentError, RecurrentGemma, type GenerationChunk } from '../lib';
import { applyLogitBias, resolveLogitBias } from '../lib/generation/logit-bias';
import { cli } from './helpers/cli';
import { ensureDistBuilt } from './helpers/dist';

let model: RecurrentGemma;
beforeAll(async () => {
  model = await RecurrentGemma.load(DEFAULT_MODEL_DIR);
});
afterAll(() => model?.dispose());

const PROMPT = 'def add(a, b):\n';
/** The 4-space indent token: the demo model writes it in almost every continuation of PROMPT. */
const INDENT = 266;

async function chunks(prompt: string, options: Parameters<RecurrentGemma['generate']>[1]): Promise<GenerationChunk[]> {
  const out: GenerationChunk[] = [];
  for await (const c of model.generate(prompt, options)) out.push(c);
  return out;
}

/** log-softmax of a logits row at every id, in float64 (no max subtraction: logits are soft-capped to ±30). */
function referenceLogSoftmax(row: Float32Array): Float64Array {
  let sum = 0;
  for (const x of row) sum += Math.exp(x);
  const lse = Math.log(sum);
  return Float64Array.from(row, (x) => x - lse);
}

/** Replays prompt + sampled tokens and returns the logits each chunk's token was sampled from. */
async function replayLogits(prompt: string, tokens: number[]): Promise<Float32Array[]> {
  const state = model.createState();
  const rows = [await model.forward(state, model.tokenizer.encode(prompt, { addBos: true }))];
  for (const t of tokens.slice(0, -1)) rows.push(await model.forward(state, [t]));
  state.dispose();
  return rows;
}

describe('logprobs on chunks', () => {
  test('equal log-softmax of the forward logits at each step, before temperature and top-k/top-p', async () => {
    // A high temperature and a narrow top-k: the reported numbers must not depend on them.
    const got = await chunks(PROMPT, { maxTokens: 24, seed: 3, temperature: 1.7, topK: 4, topP: 0.9, logprobs: true, topLogprobs: 5, ignoreEos: true });
    expect(got.length).toBe(24);
    const rows = await replayLogits(PROMPT, got.map((c) => c.token));
    got.forEach((c, i) => {
      const ref = referenceLogSoftmax(rows[i]!);
      expect(c.logprob).toBeCloseTo(ref[c.token]!, 9);
      const best = Array.from(ref, (lp, id) => ({ id, lp })).sort((a, b) => b.lp - a.lp || a.id - b.id).slice(0, 5);
      expect(c.topLogprobs!.map((a) => a.id)).toEqual(best.map((b) => b.id));
      c.topLogprobs!.forEach((a, j) => {
        expect(a.logprob).toBeCloseTo(best[j]!.lp, 9);
        expect(a.text).toBe(model.tokenizer.decode([a.id], { skipSpecialTokens: false }));
      });
    });
    // The same seed and options without logprobs sample the same tokens (reporting changes nothing).
    const plain = await chunks(PROMPT, { maxTokens: 24, seed: 3, temperature: 1.7, topK: 4, topP: 0.9, ignoreEos: true });
    expect(plain.map((c) => c.token)).toEqual(got.map((c) => c.token));
    expect(plain[0]).not.toHaveProperty('logprob');
  });

  test('greedy decoding reports the argmax with its log-probability; topLogprobs alone implies logprobs', async () => {
    const got = await chunks(PROMPT, { maxTokens: 6, temperature: 0, topLogprobs: 1 });
    const rows = await replayLogits(PROMPT, got.map((c) => c.token));
    got.forEach((c, i) => {
      expect(c.topLogprobs![0]!.id).toBe(c.token);
      expect(c.logprob).toBeCloseTo(referenceLogSoftmax(rows[i]!)[c.token]!, 9);
    });
  });

  test('logprobs follow the biased logits (as OpenAI reports them)', async () => {
    const bias = { [INDENT]: -5, 7: 3 };
    const got = await chunks(PROMPT, { maxTokens: 8, seed: 11, logprobs: true, logitBias: bias, ignoreEos: true });
    const rows = await replayLogits(PROMPT, got.map((c) => c.token));
    got.forEach((c, i) => {
      const row = Float32Array.from(rows[i]!);
      row[INDENT]! += -5;
      row[7]! += 3;
      expect(c.logprob).toBeCloseTo(referenceLogSoftmax(row)[c.token]!, 9);
    });
  });

  test('with a grammar, logprobs are the model\'s own (before the mask), not renormalised over the allowed tokens', async () => {
    const got = await chunks(PROMPT, { maxTokens: 8, seed: 2, grammar: 'root ::= "yes" | "no"', logprobs: true, topLogprobs: 2 });
    expect(['yes', 'no']).toContain(got.map((c) => c.text).join(''));
    const rows = await replayLogits(PROMPT, got.map((c) => c.token));
    got.forEach((c, i) => {
      const ref = referenceLogSoftmax(rows[i]!);
      expect(c.logprob).toBeCloseTo(ref[c.token]!, 9);
      expect(c.topLogprobs![0]!.logprob).toBeCloseTo(Math.max(...ref), 9);
    });
    expect(got[0]!.logprob!).toBeLessThan(-1); // the demo model writes Python: 'yes'/'no' here is unlikely
  });

  test('complete(), generateBatch() and ChatSession carry the same logprobs as generate()', async () => {
    const options = { maxTokens: 10, seed: 5, logprobs: true, topLogprobs: 2, ignoreEos: true };
    const streamed = await chunks(PROMPT, options);
    const completion = await model.complete(PROMPT, options);
    expect(completion.logprobs!.map((l) => l.token)).toEqual(streamed.map((c) => c.token));
    expect(completion.logprobs!.map((l) => l.logprob)).toEqual(streamed.map((c) => c.logprob));
    expect(completion.logprobs!.map((l) => l.topLogprobs)).toEqual(streamed.map((c) => c.topLogprobs));
    const [a, b] = await model.generateBatch([{ prompt: PROMPT, options: { seed: 5 } }, { prompt: 'import os\n', options: { seed: 9, logprobs: false, topLogprobs: 0 } }], {
      maxTokens: 10,
      logprobs: true,
      topLogprobs: 2,
      ignoreEos: true,
    });
    expect(a!.logprobs!.map((l) => l.token)).toEqual(completion.tokens);
    a!.logprobs!.forEach((l, i) => expect(l.logprob).toBeCloseTo(completion.logprobs![i]!.logprob, 4)); // batched rows: float32 rounding only
    expect(b!.logprobs).toBeUndefined();
    const session = model.createChatSession({ generation: { maxTokens: 4, seed: 2 } });
    const seen: GenerationChunk[] = [];
    for await (const c of session.promptStream('def f():', { logprobs: true })) seen.push(c);
    expect(seen.every((c) => typeof c.logprob === 'number' && c.logprob <= 0)).toBe(true);
  });
});

describe('logitBias', () => {
  const seeds = [1, 2, 3, 4, 5, 6];

  test('-100 never emits the token, which the same seeded runs emit without the bias', async () => {
    let unbiased = 0;
    for (const seed of seeds) {
      const plain = await model.complete(PROMPT, { maxTokens: 20, seed, temperature: 1, ignoreEos: true });
      unbiased += plain.tokens.filter((t) => t === INDENT).length;
      // Even with every filter off and a high temperature, where adding -100 alone would not be a ban.
      for (const extra of [{}, { topK: 0, topP: 1, temperature: 3 }]) {
        const r = await model.complete(PROMPT, { maxTokens: 20, seed, temperature: 1, ignoreEos: true, logitBias: { [INDENT]: -100 }, ...extra });
        expect(r.tokens).not.toContain(INDENT);
      }
    }
    expect(unbiased).toBeGreaterThan(3);
  });

  test('+100 always emits the token; several +100 tokens share the choice', async () => {
    const zebra = model.tokenizer.encode('zebra', { addBos: false })[0]!;
    for (const seed of seeds) {
      const r = await model.complete(PROMPT, { maxTokens: 12, seed, temperature: 1, ignoreEos: true, logitBias: { [zebra]: 100 }, logprobs: true });
      expect(r.tokens).toEqual(new Array(12).fill(zebra));
      for (const l of r.logprobs!) expect(l.logprob).toBe(0);
    }
    const pair = [7, INDENT];
    const r = await model.complete(PROMPT, { maxTokens: 30, seed: 1, temperature: 3, topK: 0, topP: 1, ignoreEos: true, logitBias: { [pair[0]!]: 100, [pair[1]!]: 100 } });
    expect(r.tokens.every((t) => pair.includes(t))).toBe(true);
  });

  test('values in between are added to the logit', () => {
    const logits = Float32Array.from([1, 2, 3, 4]);
    expect(Array.from(applyLogitBias(logits, resolveLogitBias({ 0: 2.5, 3: -1 }, 4)!))).toEqual([3.5, 2, 3, 3]);
    expect(Array.from(applyLogitBias(logits, resolveLogitBias({ 1: -100 }, 4)!))).toEqual([1, -Infinity, 3, 4]);
    expect(Array.from(applyLogitBias(logits, resolveLogitBias({ 1: 100, 2: 100, 3: -100 }, 4)!))).toEqual([-Infinity, 2, 3, -Infinity]);
    expect(Array.from(logits)).toEqual([1, 2, 3, 4]); // the input is not changed
    expect(resolveLogitBias({}, 4)).toBeUndefined();
  });

  test('bad values are refused before any work, naming the key', async () => {
    const bad: [unknown, RegExp, string][] = [
      [{ 99999: -100 }, /logitBias token id 99999 is outside the vocabulary \[0, 4096\)/, 'ERR_RG_TOKEN_RANGE'],
      [{ '-1': 5 }, /logitBias key "-1" is not a token id/, 'ERR_RG_INVALID_ARGUMENT'],
      [{ abc: 5 }, /logitBias key "abc" is not a token id/, 'ERR_RG_INVALID_ARGUMENT'],
      [{ 5: 101 }, /logitBias\["5"\] must be a finite number in \[-100, 100\], got 101/, 'ERR_RG_OUT_OF_RANGE'],
      [{ 5: NaN }, /logitBias\["5"\] must be a finite number/, 'ERR_RG_OUT_OF_RANGE'],
      [{ 5: '3' }, /logitBias\["5"\] must be a finite number/, 'ERR_RG_OUT_OF_RANGE'],
      [[1, 2], /logitBias must be an object/, 'ERR_RG_INVALID_ARGUMENT'],
    ];
    for (const [logitBias, message, code] of bad) {
      const call = () => model.generate(PROMPT, { logitBias } as never);
      expect(call).toThrow(message);
      expect(call).toThrow(InvalidArgumentError);
      try {
        call();
      } catch (e) {
        expect((e as InvalidArgumentError).code).toBe(code);
      }
    }
    expect(() => model.generate(PROMPT, { logprobs: 1 } as never)).toThrow(/logprobs must be a boolean/);
    expect(() => model.generate(PROMPT, { topLogprobs: 21 })).toThrow(/topLogprobs must be an integer in \[0, 20\]/);
    expect(() => model.generate(PROMPT, { topLogprobs: -1 })).toThrow(/topLogprobs/);
  });
});

describe('CLI: generate --json --logprobs N, --logit-bias ID=VALUE', () => {
  beforeAll(ensureDistBuilt);

  test('the JSON object carries what the API reports for the same seed', async () => {
    const r = cli(['generate', PROMPT, '-n', '6', '--seed', '4', '--ignore-eos', '--json', '--logprobs', '3', '--logit-bias', `${INDENT}=-100`, '--logit-bias', '7=2.5']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as { tokens: number[]; finishReason: string; generatedTokens: number; logprobs: { token: number; logprob: number; topLogprobs: { id: number }[] }[] };
    const want = await chunks(PROMPT, { maxTokens: 6, seed: 4, ignoreEos: true, logprobs: true, topLogprobs: 3, logitBias: { [INDENT]: -100, 7: 2.5 } });
    expect(out.tokens).toEqual(want.map((c) => c.token));
    expect(out.tokens).not.toContain(INDENT);
    expect(out.logprobs.map((l) => l.token)).toEqual(out.tokens);
    out.logprobs.forEach((c, i) => {
      expect(c.logprob).toBeCloseTo(want[i]!.logprob!, 12);
      expect(c.topLogprobs.map((a) => a.id)).toEqual(want[i]!.topLogprobs!.map((a) => a.id));
    });
    expect(out).toMatchObject({ finishReason: 'length', generatedTokens: 6 });
  });

  test('bad values exit 2 naming the flag', () => {
    for (const [args, message] of [
      [['--logit-bias', 'abc'], /--logit-bias .*Expected TOKEN_ID=VALUE/],
      [['--logit-bias', '5=200'], /--logit-bias\["5"\] must be a finite number in \[-100, 100\]/],
      [['--json', '--logprobs', '21'], /--logprobs must be an integer in \[0, 20\]/],
      [['--logprobs', '2'], /--logprobs needs --json/],
    ] as [string[], RegExp][]) {
      const r = cli(['generate', 'x', '-n', '2', ...args]);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr).toMatch(message);
    }
  });
});
