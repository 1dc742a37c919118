/**
 * Concurrency. Documented choice: calls that would advance or read one state while a forward pass
 * on it is in flight are rejected with StateBusyError (never queued, never interleaved); calls on
 * different states of one model run concurrently and give exactly the sequential results.
 */
import * as path from 'path';

import { RecurrentGemma, StateBusyError, type ModelState } from '../lib';

const FIXTURE = path.join(__dirname, 'fixtures', 'tiny-f32');
// forward() marks its states busy before it returns its promise, so a call made in the same tick
// always finds the first pass in flight, however short it is.
const LONG = Array.from({ length: 40 }, (_, i) => (i * 37 + 11) % 512);

let model: RecurrentGemma;
beforeAll(async () => {
  model = await RecurrentGemma.load(FIXTURE, { threads: 2 });
});
afterAll(() => model.dispose());

async function sequential(tokens: number[]): Promise<Float32Array> {
  const s = model.createState();
  const out = await model.forward(s, tokens);
  s.dispose();
  return out;
}

async function expectBusy(p: () => unknown): Promise<void> {
  let caught: unknown;
  try {
    await p();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(StateBusyError);
  expect((caught as StateBusyError).code).toBe('ERR_RG_BUSY');
}

describe('one state', () => {
  test('a second forward on a busy state is rejected; the first completes unaffected', async () => {
    const expected = await sequential(LONG);
    const s = model.createState();
    const first = model.forward(s, LONG);
    await expectBusy(() => model.forward(s, [1, 2, 3]));
    await expectBusy(() => model.forwardBatch([model.createState(), s], [[1], [2]]));
    expect(await first).toEqual(expected);
    expect(s.position).toBe(LONG.length);
  });

  test('reset, clone, layers and copy are rejected while busy; position and byteLength may be read', async () => {
    const s = model.createState();
    const bytes = s.byteLength;
    const first = model.forward(s, LONG);
    await expectBusy(() => s.reset());
    await expectBusy(() => s.clone());
    await expectBusy(() => s.layers);
    const p = s.position;
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(LONG.length);
    expect(s.byteLength).toBe(bytes);
    await first;
    expect(s.position).toBe(LONG.length);
    // Usable again once the pass is done.
    expect(s.clone().position).toBe(LONG.length);
  });

  test('a failed busy batch does not advance its other states', async () => {
    const busy = model.createState();
    const free = model.createState();
    const first = model.forward(busy, LONG);
    await expectBusy(() => model.forwardBatch([free, busy], [[5, 6], [7]]));
    await first;
    expect(free.position).toBe(0);
    expect(await model.forward(free, [5, 6])).toEqual(await sequential([5, 6]));
  });
});

describe('different states of one model', () => {
  const prompts = [LONG.slice(0, 30), LONG.slice(5, 25), [3, 1, 4, 1, 5, 9, 2, 6], LONG.slice(0, 31)];

  test('concurrent forward calls give the sequential results exactly', async () => {
    const expected: Float32Array[] = [];
    for (const p of prompts) expected.push(await sequential(p));
    const states = prompts.map(() => model.createState());
    const got = await Promise.all(prompts.map((p, i) => model.forward(states[i]!, p)));
    got.forEach((g, i) => expect(g).toEqual(expected[i]));
    states.forEach((s, i) => expect(s.position).toBe(prompts[i]!.length));
  });

  test('interleaved decode steps on several states match decoding them one after another', async () => {
    const steps = 12;
    const decode = async (s: ModelState, first: number): Promise<number[]> => {
      const ids: number[] = [];
      let next = first;
      for (let i = 0; i < steps; i++) {
        const logits = await model.forward(s, [next]);
        next = logits.indexOf(Math.max(...logits));
        ids.push(next);
      }
      return ids;
    };
    const starts = [7, 77, 177];
    const alone: number[][] = [];
    for (const t of starts) alone.push(await decode(model.createState(), t));
    const together = await Promise.all(starts.map((t) => decode(model.createState(), t)));
    expect(together).toEqual(alone);
  });

  test('calls on two different models at once are independent', async () => {
    const m2 = await RecurrentGemma.load(FIXTURE, { threads: 1 });
    try {
      const [a, b] = await Promise.all([model.forward(model.createState(), LONG), m2.forward(m2.createState(), LONG)]);
      expect(a).toEqual(b);
    } finally {
      m2.dispose();
    }
  });
});

describe('disposal while a pass is in flight (the pass keeps what it needs alive)', () => {
  test('model.dispose() during forward: the pass completes, later calls are refused', async () => {
    const expected = await sequential(LONG);
    const m = await RecurrentGemma.load(FIXTURE, { threads: 2 });
    const s = m.createState();
    const pending = m.forward(s, LONG);
    m.dispose();
    expect(m.disposed).toBe(true);
    expect(await pending).toEqual(expected);
    await expect(m.forward(s, [1])).rejects.toMatchObject({ code: 'ERR_RG_DISPOSED' });
  });

  test('state.dispose() during forward: the pass completes, the state is gone afterwards', async () => {
    const expected = await sequential(LONG);
    const s = model.createState();
    const pending = model.forward(s, LONG);
    s.dispose();
    expect(await pending).toEqual(expected);
    expect(() => s.position).toThrow(expect.objectContaining({ code: 'ERR_RG_DISPOSED' }));
  });
});
