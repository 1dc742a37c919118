/**
 * ForwardBatcher: independent loops awaiting batcher.forward() get the same results as if each
 * ran alone, while their calls are merged into one forwardBatch per step; finished sequences drop
 * out, long prompts are chunked, and a bad call fails alone.
 */
import * as path from 'path';

import { DisposedError, ForwardBatcher, InvalidArgumentError, ModelState, RecurrentGemma, StateBusyError, TokenRangeError } from '../lib';
import { argmax, maxAbsDiff } from './helpers/safetensors';

const TOL = 1e-4;

function tokens(seed: number, n: number, vocab: number): number[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % vocab;
  });
}

type Forward = (state: ModelState, ids: readonly number[]) => Promise<Float32Array>;

/** A greedy decoding loop written against a plain forward function. */
async function greedy(forward: Forward, state: ModelState, prompt: number[], steps: number): Promise<{ ids: number[]; logits: Float32Array[] }> {
  let logits = await forward(state, prompt);
  const ids: number[] = [];
  const all: Float32Array[] = [];
  for (let k = 0; k < steps; k++) {
    all.push(logits);
    ids.push(argmax(logits));
    if (k + 1 < steps) logits = await forward(state, [ids[k]!]);
  }
  return { ids, logits: all };
}

describe('ForwardBatcher', () => {
  let model: RecurrentGemma;
  let V: number;
  beforeAll(async () => {
    model = await RecurrentGemma.load(path.join(__dirname, 'fixtures', 'tiny-f32'));
    V = model.config.vocabSize;
  });
  afterAll(() => model.dispose());

  const alone = (p: number[], steps: number) => greedy((s, ids) => model.forward(s, ids), model.createState(), p, steps);

  test('concurrent loops get their unbatched results, one step for all of them at a time', async () => {
    const prompts = [tokens(1, 5, V), tokens(2, 12, V), tokens(3, 1, V), tokens(4, 30, V)];
    const steps = [3, 25, 10, 20]; // finish at different times, past the window of 16
    const batcher = model.createBatcher({ prefillChunk: 64 });
    const got = await Promise.all(prompts.map((p, i) => greedy((s, ids) => batcher.forward(s, ids), model.createState(), p, steps[i]!)));
    for (let i = 0; i < prompts.length; i++) {
      const want = await alone(prompts[i]!, steps[i]!);
      expect(got[i]!.ids).toEqual(want.ids);
      want.logits.forEach((l, k) => expect(maxAbsDiff(got[i]!.logits[k]!, l)).toBeLessThanOrEqual(TOL));
    }
    // Every loop's call of a step ran in one forwardBatch: as many steps as the longest loop, and
    // finished loops dropped out (the batch sizes add up to the calls actually made).
    expect(batcher.stats.steps).toBe(Math.max(...steps));
    expect(batcher.stats.sequenceSteps).toBe(steps.reduce((a, b) => a + b, 0));
    expect(batcher.stats.maxBatchSeen).toBe(prompts.length);
    expect(batcher.pending).toBe(0);
  });

  test('a long prompt is fed in chunks next to running decodes', async () => {
    const batcher = new ForwardBatcher(model, { prefillChunk: 16 });
    const decoding = greedy((s, ids) => batcher.forward(s, ids), model.createState(), tokens(5, 4, V), 12);
    const longPrompt = tokens(6, 100, V);
    const longState = model.createState();
    const prefill = batcher.forward(longState, longPrompt, { allLogits: true });
    const [d, logits] = await Promise.all([decoding, prefill]);
    expect(d.ids).toEqual((await alone(tokens(5, 4, V), 12)).ids);
    const want = await model.forward(model.createState(), longPrompt, { allLogits: true });
    expect(maxAbsDiff(logits, want)).toBeLessThanOrEqual(TOL);
    expect(longState.position).toBe(100);
    // 100 tokens in chunks of 16 take 7 steps, during which the decode loop kept going: the two
    // overlap instead of running one after the other.
    expect(batcher.stats.steps).toBe(12);
    expect(batcher.stats.sequenceSteps).toBe(12 + 7);
  });

  test('maxBatch caps the sequences per step and the rest take turns', async () => {
    const batcher = model.createBatcher({ maxBatch: 2 });
    const prompts = [tokens(7, 3, V), tokens(8, 6, V), tokens(9, 2, V), tokens(10, 9, V), tokens(11, 4, V)];
    const got = await Promise.all(prompts.map((p) => greedy((s, ids) => batcher.forward(s, ids), model.createState(), p, 6)));
    for (let i = 0; i < prompts.length; i++) expect(got[i]!.ids).toEqual((await alone(prompts[i]!, 6)).ids);
    expect(batcher.stats.maxBatchSeen).toBe(2);
    expect(batcher.stats.sequenceSteps).toBe(5 * 6);
    expect(batcher.stats.steps).toBe(15); // 30 sequence-steps, 2 per step
  });

  test('a bad call fails alone; the others in the same step go on', async () => {
    const batcher = model.createBatcher();
    const a = model.createState();
    const b = model.createState();
    const c = model.createState();
    const ok = batcher.forward(a, [1, 2, 3]);
    await expect(batcher.forward(a, [4])).rejects.toThrow(StateBusyError); // already waiting
    await expect(batcher.forward(b, [V])).rejects.toThrow(TokenRangeError);
    await expect(batcher.forward(b, [])).rejects.toThrow(InvalidArgumentError);
    const other = await RecurrentGemma.load();
    try {
      await expect(batcher.forward(other.createState(), [1])).rejects.toThrow(/different model/);
    } finally {
      other.dispose();
    }
    const doomed = batcher.forward(c, [5, 6]);
    c.dispose(); // disposed while waiting for the step
    await expect(doomed).rejects.toThrow(DisposedError);
    const logits = await ok;
    expect(maxAbsDiff(logits, await model.forward(model.createState(), [1, 2, 3]))).toBeLessThanOrEqual(TOL);
    expect(a.position).toBe(3);
    expect(() => model.createBatcher({ maxBatch: 0 })).toThrow(InvalidArgumentError);
  });
});
