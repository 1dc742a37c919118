/**
 * Bad inputs at run time: each gets its specific error class and code, and afterwards the model
 * and the state are still usable — a failed call never advances (or half-advances) a state. The
 * independent expectation is a fresh model's output for the same tokens.
 */
import * as path from 'path';

import {
  DisposedError,
  ForeignStateError,
  InvalidArgumentError,
  ModelState,
  RecurrentGemma,
  RecurrentGemmaError,
  TokenRangeError,
} from '../lib';
import { addon } from '../lib/native';

const FIXTURE = path.join(__dirname, 'fixtures', 'tiny-f32');
const PROMPT = [2, 45, 310, 7, 99];
const NEXT = [12, 400];

let model: RecurrentGemma;
let other: RecurrentGemma;
let expectedPrompt: Float32Array;
let expectedNext: Float32Array;

beforeAll(async () => {
  model = await RecurrentGemma.load(FIXTURE, { threads: 2 });
  other = await RecurrentGemma.load(FIXTURE, { threads: 1 });
  // Reference: a separate model instance, never exposed to bad input.
  const ref = await RecurrentGemma.load(FIXTURE, { threads: 1 });
  const s = ref.createState();
  expectedPrompt = await ref.forward(s, PROMPT);
  expectedNext = await ref.forward(s, NEXT, { allLogits: true });
  ref.dispose();
});
afterAll(() => {
  model.dispose();
  other.dispose();
});

/** The error class and code a rejected call must produce. */
async function rejects(p: () => Promise<unknown> | unknown, cls: new (...a: never[]) => RecurrentGemmaError, code: string): Promise<void> {
  let caught: unknown;
  try {
    await p();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(cls);
  expect((caught as RecurrentGemmaError).code).toBe(code);
  expect((caught as Error).message.length).toBeGreaterThan(10);
}

/** A state at position PROMPT.length that must still continue exactly like the reference. */
async function stillUsable(state: ModelState): Promise<void> {
  expect(state.position).toBe(PROMPT.length);
  expect(await model.forward(state, NEXT, { allLogits: true })).toEqual(expectedNext);
}

async function prompted(): Promise<ModelState> {
  const s = model.createState();
  expect(await model.forward(s, PROMPT)).toEqual(expectedPrompt);
  return s;
}

describe('token ids', () => {
  const V = 512;
  test.each<[string, unknown, typeof InvalidArgumentError, string]>([
    ['id -1', [1, -1], TokenRangeError, 'ERR_RG_TOKEN_RANGE'],
    ['id = vocab size', [V], TokenRangeError, 'ERR_RG_TOKEN_RANGE'],
    ['id 2^31 - 1', [2 ** 31 - 1], TokenRangeError, 'ERR_RG_TOKEN_RANGE'],
    ['id 2^40', [2 ** 40], TokenRangeError, 'ERR_RG_TOKEN_RANGE'],
    ['Int32Array with -5', Int32Array.from([3, -5]), TokenRangeError, 'ERR_RG_TOKEN_RANGE'],
    ['fractional id', [1, 2.5], InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['NaN', [NaN], InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['Infinity', [Infinity], InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['numeric string', ['3'], InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['null element', [1, null], InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['hole in a sparse array', [1, , 3], InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'], // eslint-disable-line no-sparse-arrays
    ['bigint element', [1n], InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['empty array', [], InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['empty Int32Array', new Int32Array(0), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['Float32Array', Float32Array.from([1, 2]), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['Uint32Array', Uint32Array.from([1, 2]), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['Uint8Array', Uint8Array.from([1, 2]), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['BigInt64Array', BigInt64Array.from([1n]), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['a string', 'hello', InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['a number', 5, InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['null', null, InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
    ['an array-like object', { length: 1, 0: 1 }, InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT'],
  ])('%s: %p', async (_name, tokens, cls, code) => {
    const s = await prompted();
    await rejects(() => model.forward(s, tokens as number[]), cls, code);
    await stillUsable(s);
  });

  test('the native layer re-checks ids and array kinds on its own', async () => {
    const s = await prompted();
    const native = model.handle();
    const st = s.handle();
    const bad: Array<[unknown, string]> = [
      [Int32Array.from([V]), 'ERR_RG_TOKEN_RANGE'],
      [Int32Array.from([-1]), 'ERR_RG_TOKEN_RANGE'],
      [new Int32Array(0), 'ERR_RG_INVALID_ARGUMENT'],
      [Float32Array.from([1]), 'ERR_RG_INVALID_ARGUMENT'],
      [[1, 2], 'ERR_RG_INVALID_ARGUMENT'],
    ];
    for (const [tokens, code] of bad) {
      expect(() => native.forward([{ state: st, tokens: tokens as Int32Array, allLogits: false }])).toThrow(expect.objectContaining({ code }));
    }
    expect(() => native.forward([{ state: {} as never, tokens: Int32Array.from([1]), allLogits: false }])).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_ARGUMENT' }));
    expect(() => native.forward([])).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_ARGUMENT' }));
    expect(() => native.forward('x' as never)).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_ARGUMENT' }));
    await stillUsable(s);
  });

  test('an allLogits output beyond 2^31 floats is refused before the state is touched', async () => {
    const s = await prompted();
    const tokens = new Int32Array(2 ** 22 + 1).fill(3); // (2^22 + 1) x 512 floats
    await rejects(() => model.forward(s, tokens, { allLogits: true }), InvalidArgumentError, 'ERR_RG_OUT_OF_RANGE');
    await stillUsable(s);
  });
});

describe('states and models', () => {
  test('a state of another model -> ForeignStateError, both states unharmed', async () => {
    const s = await prompted();
    const foreign = other.createState();
    await rejects(() => model.forward(foreign, [1]), ForeignStateError, 'ERR_RG_FOREIGN_STATE');
    await rejects(() => other.forward(s, [1]), ForeignStateError, 'ERR_RG_FOREIGN_STATE');
    expect(foreign.position).toBe(0);
    await stillUsable(s);
    expect(() => s.handle().copyFrom(foreign.handle())).toThrow(expect.objectContaining({ code: 'ERR_RG_FOREIGN_STATE' }));
  });

  test('something that is not a state -> InvalidArgumentError', async () => {
    for (const bad of [null, undefined, {}, { native: null }, model]) {
      await rejects(() => model.forward(bad as never, [1]), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT');
    }
  });

  test('a disposed state -> DisposedError for every use; dispose twice is fine', async () => {
    const s = await prompted();
    s.dispose();
    s.dispose();
    expect(s.disposed).toBe(true);
    await rejects(() => model.forward(s, [1]), DisposedError, 'ERR_RG_DISPOSED');
    for (const use of [() => s.position, () => s.byteLength, () => s.layers, () => s.clone(), () => s.reset()]) {
      await rejects(use, DisposedError, 'ERR_RG_DISPOSED');
    }
  });

  test('a disposed model -> DisposedError; its states were disposed with it', async () => {
    const m = await RecurrentGemma.load(FIXTURE, { threads: 1 });
    const s = m.createState();
    m.dispose();
    m.dispose();
    await rejects(() => m.forward(s, [1]), DisposedError, 'ERR_RG_DISPOSED');
    await rejects(() => m.createState(), DisposedError, 'ERR_RG_DISPOSED');
    await rejects(() => m.runtime, DisposedError, 'ERR_RG_DISPOSED');
    expect(s.disposed).toBe(true);
    await rejects(() => s.position, DisposedError, 'ERR_RG_DISPOSED');
    await rejects(() => s.clone(), DisposedError, 'ERR_RG_DISPOSED');
    s.dispose(); // still harmless
  });

  test('forwardBatch: a bad entry anywhere leaves every state where it was', async () => {
    const a = await prompted();
    const b = await prompted();
    const gone = model.createState();
    gone.dispose();
    await rejects(() => model.forwardBatch([a, b], [NEXT, [9999]]), TokenRangeError, 'ERR_RG_TOKEN_RANGE');
    await rejects(() => model.forwardBatch([a, gone], [NEXT, NEXT]), DisposedError, 'ERR_RG_DISPOSED');
    await rejects(() => model.forwardBatch([a, other.createState()], [NEXT, NEXT]), ForeignStateError, 'ERR_RG_FOREIGN_STATE');
    await rejects(() => model.forwardBatch([a, a], [NEXT, NEXT]), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT');
    await rejects(() => model.forwardBatch([a, b], [NEXT]), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT');
    await rejects(() => model.forwardBatch([], []), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT');
    await stillUsable(a);
    await stillUsable(b);
  });

  test('raw native misuse gets coded errors, not crashes', () => {
    const s = model.createState();
    const st = s.handle();
    // A state object where a model is expected (once a type confusion in the binding).
    expect(() => new addon.NativeState(st as never)).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_ARGUMENT' }));
    expect(() => new addon.NativeState({} as never)).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_ARGUMENT' }));
    expect(() => st.copyFrom(model.handle() as never)).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_ARGUMENT' }));
    expect(() => st.writeData(new Float32Array(3), 0)).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_ARGUMENT' }));
    expect(() => st.writeData(new Float64Array(st.byteLength / 4) as never, 0)).toThrow(expect.objectContaining({ code: 'ERR_RG_INVALID_ARGUMENT' }));
    expect(() => st.writeData(new Float32Array(st.byteLength / 4), -1)).toThrow(expect.objectContaining({ code: 'ERR_RG_OUT_OF_RANGE' }));
    expect(st.position).toBe(0);
    s.dispose();
  });
});

describe('options', () => {
  test.each<[string, unknown, string]>([
    ['threads 0', { threads: 0 }, 'ERR_RG_OUT_OF_RANGE'],
    ['threads 1.5', { threads: 1.5 }, 'ERR_RG_OUT_OF_RANGE'],
    ['threads 257', { threads: 257 }, 'ERR_RG_OUT_OF_RANGE'],
    ['threads "2"', { threads: '2' }, 'ERR_RG_OUT_OF_RANGE'],
    ['simd "sse"', { simd: 'sse' }, 'ERR_RG_INVALID_SIMD'],
    ['simd 5', { simd: 5 }, 'ERR_RG_INVALID_SIMD'],
    ['options null', null, 'ERR_RG_INVALID_ARGUMENT'],
    ['options a string', 'fast', 'ERR_RG_INVALID_ARGUMENT'],
  ])('load with %s -> InvalidArgumentError %s', async (_n, options, code) => {
    await rejects(() => RecurrentGemma.load(FIXTURE, options as never), InvalidArgumentError, code);
  });

  test.each<[string, unknown]>([
    ['folder ""', ''],
    ['folder 42', 42],
  ])('load with %s -> InvalidArgumentError', async (_n, dir) => {
    await rejects(() => RecurrentGemma.load(dir as never), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT');
  });

  test.each<[string, unknown]>([
    ['allLogits "yes"', { allLogits: 'yes' }],
    ['allLogits 1', { allLogits: 1 }],
    ['options null', null],
  ])('forward with %s -> InvalidArgumentError, state unharmed', async (_n, options) => {
    const s = await prompted();
    await rejects(() => model.forward(s, NEXT, options as never), InvalidArgumentError, 'ERR_RG_INVALID_ARGUMENT');
    await stillUsable(s);
  });
});
