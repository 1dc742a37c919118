/**
 * forwardBatch: several sequences advanced in one pass must give, for each sequence, the logits
 * the unbatched forward gives (to 1e-4) and the same greedy tokens — whatever their prompts,
 * positions and lengths, with prefill and decode mixed, past the attention window (16 in
 * tiny-f32), and with more rows than one round holds (Model::kMaxRowsPerRound = 256).
 */
import * as path from 'path';

import { InvalidArgumentError, ModelState, RecurrentGemma, StateBusyError } from '../lib';
import { argmax, maxAbsDiff } from './helpers/safetensors';

const TOL = 1e-4;
const MAX_ROWS_PER_ROUND = 256;

/** Deterministic pseudo-random token ids (LCG), so prompts differ without fixtures. */
function tokens(seed: number, n: number, vocab: number): number[] {
  let x = seed >>> 0;
  return Array.from({ length: n }, () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x % vocab;
  });
}

describe('forwardBatch equals unbatched forward', () => {
  let model: RecurrentGemma;
  let V: number;
  beforeAll(async () => {
    model = await RecurrentGemma.load(path.join(__dirname, 'fixtures', 'tiny-f32'));
    V = model.config.vocabSize;
  });
  afterAll(() => model.dispose());

  /** States advanced by `warm` tokens each, plus clones for the unbatched reference. */
  async function startStates(warm: number[][]): Promise<{ batched: ModelState[]; single: ModelState[] }> {
    const batched = warm.map(() => model.createState());
    for (let i = 0; i < warm.length; i++) if (warm[i]!.length > 0) await model.forward(batched[i]!, warm[i]!);
    return { batched, single: batched.map((s) => s.clone()) };
  }

  /** Runs one batched call and the same work sequence by sequence; compares every row. */
  async function compare(warm: number[][], inputs: number[][], allLogits: boolean): Promise<void> {
    const { batched, single } = await startStates(warm);
    const got = await model.forwardBatch(batched, inputs, { allLogits });
    for (let i = 0; i < inputs.length; i++) {
      const want = await model.forward(single[i]!, inputs[i]!, { allLogits });
      expect(got[i]!.length).toBe(allLogits ? inputs[i]!.length * V : V);
      expect(maxAbsDiff(got[i]!, want)).toBeLessThanOrEqual(TOL);
      const rows = got[i]!.length / V;
      for (let r = 0; r < rows; r++) expect(argmax(got[i]!, r * V, V)).toBe(argmax(want, r * V, V));
      expect(batched[i]!.position).toBe(warm[i]!.length + inputs[i]!.length);
      // The states themselves end up equal too, so later steps agree as well.
      batched[i]!.layers.forEach((layer, j) => {
        const ref = single[i]!.layers[j]!;
        if (layer.kind === 'recurrent' && ref.kind === 'recurrent') expect(maxAbsDiff(layer.rgLruState, ref.rgLruState)).toBeLessThanOrEqual(TOL);
        if (layer.kind === 'attention' && ref.kind === 'attention') expect(maxAbsDiff(layer.keys, ref.keys)).toBeLessThanOrEqual(TOL);
      });
    }
  }

  test('different prompts and lengths from position 0 (all logits)', async () => {
    const inputs = [tokens(1, 7, V), tokens(2, 1, V), tokens(3, 23, V), tokens(4, 12, V)];
    await compare(inputs.map(() => []), inputs, true);
  });

  test('different positions, prefill and decode mixed in one call (last logits)', async () => {
    const warm = [[], tokens(5, 5, V), tokens(6, 17, V), tokens(7, 40, V), tokens(8, 3, V)];
    const inputs = [tokens(9, 1, V), tokens(10, 30, V), tokens(11, 1, V), tokens(12, 9, V), tokens(13, 1, V)];
    await compare(warm, inputs, false);
    await compare(warm, inputs, true);
  });

  test('more rows than one round: long prefills split across rounds next to decodes', async () => {
    const warm = [tokens(14, 20, V), [], tokens(15, 2, V)];
    const inputs = [tokens(16, 300, V), tokens(17, 1, V), tokens(18, 120, V)];
    expect(inputs.reduce((n, t) => n + t.length, 0)).toBeGreaterThan(MAX_ROWS_PER_ROUND);
    await compare(warm, inputs, true);
  });

  test('one sequence longer than a round equals chunked prefill', async () => {
    const ids = tokens(19, MAX_ROWS_PER_ROUND + 37, V);
    const whole = model.createState();
    const got = await model.forward(whole, ids, { allLogits: true });
    const chunked = model.createState();
    const want = new Float32Array(ids.length * V);
    for (let t = 0; t < ids.length; t += 64) want.set(await model.forward(chunked, ids.slice(t, t + 64), { allLogits: true }), t * V);
    expect(maxAbsDiff(got, want)).toBeLessThanOrEqual(TOL);
  });

  test('more sequences than rows per round (270 one-token decodes)', async () => {
    const n = MAX_ROWS_PER_ROUND + 14;
    const warm = Array.from({ length: n }, (_, i) => tokens(100 + i, i % 3, V));
    const inputs = Array.from({ length: n }, (_, i) => tokens(1000 + i, 1, V));
    await compare(warm, inputs, false);
  });

  test('batched greedy decoding past the attention window gives the same tokens', async () => {
    const prompts = [tokens(20, 3, V), tokens(21, 11, V), tokens(22, 25, V), tokens(23, 1, V)];
    const steps = 2 * model.config.window + 5;
    // Reference: each sequence alone.
    const want: number[][] = [];
    const wantLogits: Float32Array[][] = [];
    for (const p of prompts) {
      const s = model.createState();
      let logits = await model.forward(s, p);
      const ids: number[] = [];
      const ls: Float32Array[] = [];
      for (let k = 0; k < steps; k++) {
        ls.push(logits);
        ids.push(argmax(logits));
        logits = await model.forward(s, [ids[k]!]);
      }
      want.push(ids);
      wantLogits.push(ls);
    }
    // Batched: one forwardBatch per step, prefill of all prompts in the first call.
    const states = prompts.map(() => model.createState());
    let logits = await model.forwardBatch(states, prompts);
    const got: number[][] = prompts.map(() => []);
    for (let k = 0; k < steps; k++) {
      logits.forEach((l, i) => {
        expect(maxAbsDiff(l, wantLogits[i]![k]!)).toBeLessThanOrEqual(TOL);
        got[i]!.push(argmax(l));
      });
      logits = await model.forwardBatch(states, got.map((ids) => [ids[k]!]));
    }
    expect(got).toEqual(want);
    states.forEach((s, i) => expect(s.position).toBe(prompts[i]!.length + steps));
  });

  test('bad batches are rejected before anything runs', async () => {
    const a = model.createState();
    const b = model.createState();
    await expect(model.forwardBatch([a, a], [[1], [2]])).rejects.toThrow(InvalidArgumentError);
    await expect(model.forwardBatch([a, b], [[1]])).rejects.toThrow(InvalidArgumentError);
    await expect(model.forwardBatch([], [])).rejects.toThrow(InvalidArgumentError);
    await expect(model.forwardBatch([a, b], [[1], []])).rejects.toThrow(InvalidArgumentError);
    expect(a.position).toBe(0);
    const pending = model.forward(a, tokens(24, 64, V));
    await expect(model.forwardBatch([b, a], [[1], [2]])).rejects.toThrow(StateBusyError);
    await pending;
    expect(b.position).toBe(0);
  });
});
