/**
 * State objects: clone, reset, byteLength, position, and serialize / restore. A cloned or restored
 * state must continue bit-identically; any damaged, foreign or future serialized state must be
 * refused with a StateFormatError carrying the right code.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import {
  DisposedError,
  inspectState,
  RecurrentGemma,
  StateBusyError,
  StateFormatCode,
  StateFormatError,
  type ModelConfig,
} from '../lib';
import { STATE_PRELUDE_BYTES } from '../lib/state/format';

const tinyF32 = path.join(__dirname, 'fixtures', 'tiny-f32');
const prompt = [2, 17, 99, 4, 250, 31, 7, 77, 12, 5, 300, 41];
const more = [8, 9, 10, 11, 200, 201, 202, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25];

/** Bytes of a state computed independently of the native layout code. */
function expectedStateBytes(c: ModelConfig): number {
  let floats = 0;
  for (const kind of c.blockTypes) floats += kind === 'recurrent' ? c.lruWidth + (c.convWidth - 1) * c.lruWidth : 2 * c.window * c.headDim;
  return floats * 4;
}

/** Feeds tokens one at a time and returns every step's logits. */
async function continueOneByOne(model: RecurrentGemma, state: ReturnType<RecurrentGemma['createState']>, tokens: number[]): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (const t of tokens) out.push(await model.forward(state, [t]));
  return out;
}

function expectStateError(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(StateFormatError);
  expect((caught as StateFormatError).code).toBe(code);
}

/** Rewrites the JSON header of a serialized state and fixes up lengths and the header checksum. */
function withHeader(bytes: Uint8Array, edit: (h: Record<string, unknown>) => void): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const H = view.getUint32(12, true);
  const header = JSON.parse(Buffer.from(bytes.subarray(STATE_PRELUDE_BYTES, STATE_PRELUDE_BYTES + H)).toString('utf8')) as Record<string, unknown>;
  edit(header);
  const payloadStart = STATE_PRELUDE_BYTES + H + ((4 - (H % 4)) % 4);
  const payload = bytes.subarray(payloadStart);
  const hb = Buffer.from(JSON.stringify(header));
  const pad = (4 - (hb.length % 4)) % 4;
  const out = new Uint8Array(STATE_PRELUDE_BYTES + hb.length + pad + payload.length);
  out.set(bytes.subarray(0, 24), 0);
  new DataView(out.buffer).setUint32(12, hb.length, true);
  out.set(createHash('sha256').update(hb).digest(), 24);
  out.set(hb, STATE_PRELUDE_BYTES);
  out.set(payload, STATE_PRELUDE_BYTES + hb.length + pad);
  return out;
}

describe('state objects', () => {
  let model: RecurrentGemma;
  let tmp: string;
  beforeAll(async () => {
    model = await RecurrentGemma.load(tinyF32);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-states-'));
  });
  afterAll(() => {
    model.dispose();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('byteLength is the fixed size computed from the config and never grows', async () => {
    const state = model.createState();
    const want = expectedStateBytes(model.config);
    expect(state.byteLength).toBe(want);
    await model.forward(state, [...prompt, ...more, ...more]);
    expect(state.byteLength).toBe(want);
    expect(state.position).toBe(prompt.length + 2 * more.length);
  });

  test('clone continues bit-identically and independently of the original', async () => {
    const a = model.createState();
    await model.forward(a, prompt);
    const b = a.clone();
    expect(b.position).toBe(a.position);
    expect(b.byteLength).toBe(a.byteLength);
    // Advancing the clone on other tokens must not touch the original.
    const c = a.clone();
    await model.forward(c, [100, 101, 102, 103]);
    expect(a.position).toBe(prompt.length);
    const fromA = await continueOneByOne(model, a, more);
    const fromB = await continueOneByOne(model, b, more);
    fromA.forEach((l, i) => expect(fromB[i]).toEqual(l));
    // And the original behaves as a fresh replay of the same tokens.
    const replay = model.createState();
    await model.forward(replay, prompt);
    const fromReplay = await continueOneByOne(model, replay, more);
    fromA.forEach((l, i) => expect(fromReplay[i]).toEqual(l));
  });

  test('reset returns to position 0 and behaves like a fresh state', async () => {
    const s = model.createState();
    await model.forward(s, more);
    s.reset();
    expect(s.position).toBe(0);
    expect(s.layers.every((l) => (l.kind === 'recurrent' ? [l.rgLruState, l.conv1dState] : [l.keys, l.values]).every((t) => t.every((x) => x === 0)))).toBe(true);
    const fresh = model.createState();
    expect(await model.forward(s, prompt, { allLogits: true })).toEqual(await model.forward(fresh, prompt, { allLogits: true }));
  });

  test('serialize -> deserializeState continues bit-identically, past the attention window', async () => {
    const a = model.createState();
    await model.forward(a, [...prompt, ...more]); // position 32 > window 16: the ring buffer has wrapped
    const bytes = a.serialize();
    const b = model.deserializeState(bytes);
    expect(b.position).toBe(a.position);
    expect(b.layers).toEqual(a.layers);
    const fromA = await continueOneByOne(model, a, more);
    const fromB = await continueOneByOne(model, b, more);
    fromA.forEach((l, i) => expect(fromB[i]).toEqual(l));
  });

  test('serialized bytes are deterministic and self-describing', async () => {
    const s = model.createState();
    await model.forward(s, prompt);
    const bytes = s.serialize({ metadata: { note: 'prefix', turns: [1, 2] } });
    expect(s.serialize({ metadata: { note: 'prefix', turns: [1, 2] } })).toEqual(bytes);
    expect(Buffer.from(bytes.subarray(0, 7)).toString('latin1')).toBe('RGSTATE');
    const header = inspectState(bytes);
    expect(header.position).toBe(prompt.length);
    expect(header.dtype).toBe('F32');
    expect(header.model.fingerprint).toEqual(model.fingerprint);
    expect(header.model.summary.width).toBe(model.config.width);
    expect(header.layers.map((l) => l.kind)).toEqual(model.config.blockTypes);
    expect(header.layers.reduce((n, l) => n + l.floats * 4, 0)).toBe(s.byteLength);
    expect(header.metadata).toEqual({ note: 'prefix', turns: [1, 2] });
    expect(header.payloadSha256).toMatch(/^[0-9a-f]{64}$/);
  });

  test('save(file) and loadState(file) round-trip and continue identically', async () => {
    const a = model.createState();
    await model.forward(a, prompt);
    const file = path.join(tmp, 'prefix.rgstate');
    await a.save(file);
    expect(fs.readdirSync(tmp)).toEqual(['prefix.rgstate']); // no temporary file left behind
    const b = await model.loadState(file);
    expect(await model.forward(b, more, { allLogits: true })).toEqual(await model.forward(a, more, { allLogits: true }));
  });

  test('a state is refused by a model of another architecture', async () => {
    const other = await RecurrentGemma.load(); // the embedded tiny-python model
    try {
      const s = other.createState();
      await other.forward(s, [2, 3]);
      expectStateError(() => model.deserializeState(s.serialize()), StateFormatCode.MODEL_MISMATCH);
      expect(() => model.deserializeState(s.serialize())).toThrow(/different model architecture \(width 256/);
    } finally {
      other.dispose();
    }
  });

  test('a state is refused by a model with the same config but different weights', async () => {
    const dir = path.join(tmp, 'finetune');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(tinyF32, 'config.json'), path.join(dir, 'config.json'));
    const weights = fs.readFileSync(path.join(tinyF32, 'model.safetensors'));
    const n = Number(weights.readBigUInt64LE(0));
    weights[8 + n + 1] ^= 0x40; // change one weight of the first tensor
    fs.writeFileSync(path.join(dir, 'model.safetensors'), weights);
    const tuned = await RecurrentGemma.load(dir);
    try {
      expect(tuned.fingerprint.config).toBe(model.fingerprint.config);
      expect(tuned.fingerprint.weights).not.toBe(model.fingerprint.weights);
      const s = model.createState();
      await model.forward(s, prompt);
      expectStateError(() => tuned.deserializeState(s.serialize()), StateFormatCode.WEIGHTS_MISMATCH);
    } finally {
      tuned.dispose();
    }
    // Reloading the same checkpoint gives the same fingerprint, so its states restore.
    const again = await RecurrentGemma.load(tinyF32);
    try {
      expect(again.fingerprint).toEqual(model.fingerprint);
      const s = model.createState();
      await model.forward(s, prompt);
      const r = again.deserializeState(s.serialize());
      expect(await again.forward(r, more)).toEqual(await model.forward(s, more));
    } finally {
      again.dispose();
    }
  });

  test('a model quantized at load is another identity: its states and the stored model\'s do not mix', async () => {
    const q = await RecurrentGemma.load(tinyF32, { weights: 'int8' });
    try {
      expect(q.fingerprint.config).toBe(model.fingerprint.config);
      expect(q.fingerprint.weights).not.toBe(model.fingerprint.weights);
      const s = q.createState();
      await q.forward(s, prompt);
      expectStateError(() => model.deserializeState(s.serialize()), StateFormatCode.WEIGHTS_MISMATCH);
      const again = await RecurrentGemma.load(tinyF32, { weights: 'int8' });
      try {
        expect(again.fingerprint).toEqual(q.fingerprint);
        expect(await again.forward(again.deserializeState(s.serialize()), more)).toEqual(await q.forward(s, more));
      } finally {
        again.dispose();
      }
    } finally {
      q.dispose();
    }
  });

  describe('damaged bytes', () => {
    let bytes: Uint8Array;
    beforeAll(async () => {
      const s = model.createState();
      await model.forward(s, [...prompt, ...more]);
      bytes = s.serialize({ metadata: { hello: 'world' } });
    });

    test('every truncation is refused as TRUNCATED', () => {
      const H = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
      const cuts = [0, 1, 7, 8, 11, 12, 30, 55, 56, STATE_PRELUDE_BYTES + Math.floor(H / 2), STATE_PRELUDE_BYTES + H, bytes.length - 4096, bytes.length - 1];
      for (const cut of cuts) expectStateError(() => model.deserializeState(bytes.subarray(0, cut)), StateFormatCode.TRUNCATED);
    });

    test('extra bytes after the payload are refused as TRAILING_DATA', () => {
      const longer = new Uint8Array(bytes.length + 3);
      longer.set(bytes);
      expectStateError(() => model.deserializeState(longer), StateFormatCode.TRAILING_DATA);
    });

    test('any flipped byte is refused (checksums cover the whole file)', () => {
      const H = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
      const positions = new Set<number>();
      for (let i = 8; i < STATE_PRELUDE_BYTES + H + 4; i++) positions.add(i); // prelude after magic, header, padding
      for (let i = STATE_PRELUDE_BYTES + H; i < bytes.length; i += 61) positions.add(i); // payload sample
      positions.add(bytes.length - 1);
      const seen = new Set<string>();
      for (const i of positions) {
        const bad = Uint8Array.from(bytes);
        bad[i] ^= 0x01;
        let caught: unknown;
        try {
          model.deserializeState(bad);
        } catch (e) {
          caught = e;
        }
        expect(caught).toBeInstanceOf(StateFormatError);
        seen.add((caught as StateFormatError).code);
      }
      // Payload and header flips are checksum errors; prelude flips show up as version / size errors.
      expect(seen.has(StateFormatCode.CHECKSUM)).toBe(true);
      expect(seen.has(StateFormatCode.VERSION)).toBe(true);
    });

    test('data that is not a state is refused as NOT_A_STATE', () => {
      expectStateError(() => model.deserializeState(Buffer.from('{"position": 3}'.padEnd(100, ' '))), StateFormatCode.NOT_A_STATE);
      expectStateError(() => model.deserializeState(fs.readFileSync(path.join(tinyF32, 'model.safetensors')).subarray(0, 4096)), StateFormatCode.NOT_A_STATE);
      expectStateError(() => model.deserializeState('RGSTATE' as unknown as Uint8Array), StateFormatCode.NOT_A_STATE);
    });

    test('a future format version is refused as VERSION', () => {
      const future = Uint8Array.from(bytes);
      new DataView(future.buffer).setUint32(8, 2, true);
      expectStateError(() => model.deserializeState(future), StateFormatCode.VERSION);
      expect(() => model.deserializeState(future)).toThrow(/version 2 is not supported.*newer/);
    });

    test('a well-formed header with invalid content is refused as BAD_HEADER', () => {
      expect(model.deserializeState(withHeader(bytes, () => undefined)).position).toBe(prompt.length + more.length); // the helper itself is sound
      expectStateError(() => model.deserializeState(withHeader(bytes, (h) => (h.position = -1))), StateFormatCode.BAD_HEADER);
      expectStateError(() => model.deserializeState(withHeader(bytes, (h) => (h.position = 1.5))), StateFormatCode.BAD_HEADER);
      expectStateError(() => model.deserializeState(withHeader(bytes, (h) => (h.dtype = 'BF16'))), StateFormatCode.BAD_HEADER);
      expectStateError(() => model.deserializeState(withHeader(bytes, (h) => delete h.model)), StateFormatCode.BAD_HEADER);
      expectStateError(() => model.deserializeState(withHeader(bytes, (h) => (h.layers = (h.layers as unknown[]).slice(1)))), StateFormatCode.BAD_HEADER);
    });

    test('a payload that does not match its header checksum is refused as CHECKSUM', () => {
      expectStateError(() => model.deserializeState(withHeader(bytes, (h) => (h.payloadSha256 = '0'.repeat(64)))), StateFormatCode.CHECKSUM);
    });
  });

  test('disposed and busy states cannot be serialized', async () => {
    const s = model.createState();
    const pending = model.forward(s, [...more, ...more, ...more, ...more]);
    expect(() => s.serialize()).toThrow(StateBusyError);
    await pending;
    expect(s.serialize().length).toBeGreaterThan(s.byteLength);
    s.dispose();
    expect(() => s.serialize()).toThrow(DisposedError);
  });

  test('metadata must be JSON', () => {
    const s = model.createState();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => s.serialize({ metadata: cyclic })).toThrow(StateFormatError);
  });
});
