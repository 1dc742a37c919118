/**
 * Property-based fuzzing of the checkpoint parsers (fast-check): random bytes, random and mutated
 * headers, random configs and random native tensor lists must either be accepted with all
 * invariants holding, or rejected with a CheckpointError (native: an error with an ERR_RG_ code) —
 * never any other exception, crash or hang. Seeds are fixed by fast-check's reporting: a failure
 * prints the seed and the shrunk counterexample.
 */
import * as fs from 'fs';
import * as path from 'path';

import fc from 'fast-check';

import { CheckpointError } from '../lib/errors';
import { DTYPE_SIZE, firstDuplicateKey, parseHeader, parseHeaderBytes, readSafetensorsHeader, type SafetensorsFile } from '../lib/checkpoint/safetensors';
import { MAX_STATE_BYTES, parseConfig } from '../lib/checkpoint/config';
import { stateBytes } from '../lib/state/layout';
import { openCheckpoint } from '../lib/checkpoint';
import type { TensorSource } from '../lib/checkpoint';
import { addon } from '../lib/native';
import { checkpointWith, entries, fixture, fixtureConfig, FIXTURE, removeTempCheckpoints, safetensorsBytes, type Entry } from './helpers/hostile';

afterAll(removeTempCheckpoints);

const RUNS = Number(process.env.RG_FUZZ_RUNS ?? 300);

/** Runs fn; a CheckpointError is an accepted outcome, anything else fails the property. */
function onlyCheckpointErrors<T>(fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CheckpointError && /^ERR_RG_[A-Z_]+$/.test(e.code)) return undefined;
    throw e;
  }
}

/** What an accepted safetensors file guarantees to the native loader. */
function checkInvariants(f: SafetensorsFile): void {
  const spans: Array<[number, number]> = [];
  for (const t of f.tensors.values()) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    expect(t.nbytes).toBe(count * DTYPE_SIZE[t.dtype]);
    expect(t.offset).toBeGreaterThanOrEqual(f.dataOffset);
    expect(t.offset + t.nbytes).toBeLessThanOrEqual(f.size);
    if (t.nbytes > 0) spans.push([t.offset, t.offset + t.nbytes]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let end = f.dataOffset;
  for (const [b, e] of spans) {
    expect(b).toBe(end);
    end = e;
  }
  expect(end).toBe(f.size);
}

const dtypes = fc.constantFrom('F32', 'BF16', 'F16', 'F64', 'I8', 'Q4', '', 'f32');
const dim = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(-1, 1.5, 2 ** 31, 2 ** 53, 1e300, NaN));
const anyEntry = fc.oneof(
  { weight: 4, arbitrary: fc.record({ dtype: dtypes, shape: fc.array(dim, { maxLength: 4 }), data_offsets: fc.tuple(fc.integer({ min: -2, max: 300 }), fc.integer({ min: -2, max: 300 })) }) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const header = fc.dictionary(
  fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__metadata__', '__proto__', 'constructor', 'model.embed_tokens.weight')),
  anyEntry,
  { maxKeys: 6 },
);

describe('safetensors parsing', () => {
  test('random bytes as a header -> accepted with invariants, or CheckpointError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 0, max: 1000 }), (bytes, dataSize) => {
        const f = onlyCheckpointErrors(() => parseHeaderBytes('fuzz.safetensors', 8 + bytes.length + dataSize, bytes));
        if (f) checkInvariants(f);
      }),
      { numRuns: RUNS },
    );
  });

  test('random JSON text as a header -> accepted with invariants, or CheckpointError', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 3 }), fc.integer({ min: 0, max: 1000 }), (text, dataSize) => {
        const bytes = new TextEncoder().encode(text);
        const f = onlyCheckpointErrors(() => parseHeaderBytes('fuzz.safetensors', 8 + bytes.length + dataSize, bytes));
        if (f) checkInvariants(f);
      }),
      { numRuns: RUNS },
    );
  });

  test('random header objects -> accepted with invariants, or CheckpointError', () => {
    fc.assert(
      fc.property(header, fc.integer({ min: 0, max: 600 }), (h, dataSize) => {
        const f = onlyCheckpointErrors(() => parseHeader('fuzz.safetensors', 1000 + dataSize, 1000, h));
        if (f) checkInvariants(f);
      }),
      { numRuns: RUNS },
    );
  });

  test('mutations of the fixture header -> accepted with invariants, or CheckpointError', () => {
    const { header: h0, data } = fixture();
    const names = entries(h0).map(([n]) => n);
    const mutation = fc.record({
      tensor: fc.constantFrom(...names),
      field: fc.constantFrom('begin', 'end', 'shape0', 'dtype', 'drop', 'rename'),
      delta: fc.integer({ min: -9, max: 9 }),
      dtype: dtypes,
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
        const h = structuredClone(h0);
        for (const m of muts) {
          const e = h[m.tensor] as Entry | undefined;
          if (!e) continue;
          if (m.field === 'begin') e.data_offsets[0] += m.delta;
          else if (m.field === 'end') e.data_offsets[1] += m.delta;
          else if (m.field === 'shape0') e.shape[0] = (e.shape[0] ?? 0) + m.delta;
          else if (m.field === 'dtype') e.dtype = m.dtype;
          else if (m.field === 'drop') delete h[m.tensor];
          else h[`${m.tensor}.x`] = e;
        }
        const bytes = Buffer.from(JSON.stringify(h));
        const f = onlyCheckpointErrors(() => parseHeaderBytes('fuzz.safetensors', 8 + bytes.length + data.length, bytes));
        if (f) checkInvariants(f);
      }),
      { numRuns: RUNS },
    );
  });

  test('random whole files on disk (length prefix included) -> only CheckpointError', () => {
    const { header: h0, data } = fixture();
    const good = safetensorsBytes({ header: h0, data: data.subarray(0, 0) });
    const file = checkpointWith(Buffer.alloc(0));
    const target = path.join(file, 'model.safetensors');
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
          // The fixture's own header with random bytes overwritten (length field included).
          fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((edits) => {
            const b = Buffer.from(good);
            for (const [i, v] of edits) b[i] = v;
            return b;
          }),
        ),
        (bytes) => {
          fs.writeFileSync(target, bytes);
          const f = onlyCheckpointErrors(() => readSafetensorsHeader(target));
          if (f) checkInvariants(f);
        },
      ),
      { numRuns: Math.min(RUNS, 200) },
    );
  });

  test('duplicate-key detection agrees with a reference on random JSON', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { minKeys: 1, maxKeys: 5 }), fc.nat(), (obj, pick) => {
        const text = JSON.stringify(obj);
        expect(firstDuplicateKey(text)).toBeUndefined();
        // Repeat one key at the end of the object: it must be found, escapes and all.
        const keys = Object.keys(obj);
        const key = keys[pick % keys.length]!;
        const dup = `${text.slice(0, -1)},${JSON.stringify(key)}:0}`;
        expect(firstDuplicateKey(dup)).toBe(key);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('config parsing', () => {
  const base = fixtureConfig();
  const keys = ['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'lru_width', 'head_dim', 'attention_window_size', 'conv1d_width', 'logits_soft_cap', 'rms_norm_eps', 'rope_theta', 'partial_rotary_factor', 'num_key_value_heads', '_block_types', 'bos_token_id', 'embeddings_scale_by_sqrt_dim', 'rope_parameters', 'model_type'];
  const value = fc.oneof(
    fc.integer({ min: -4, max: 70000 }),
    fc.constantFrom(0, 1, 2 ** 20, 2 ** 20 + 1, 2 ** 31, 2 ** 53, 1e308, -0, 0.5, NaN, Infinity, null, true, '128', [], {}, ['attention'], ['recurrent', 'attention']),
    fc.jsonValue({ maxDepth: 1 }),
  );
  test('random edits of a valid config -> a consistent config, or CheckpointError', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 4 }), (edits) => {
        const c = onlyCheckpointErrors(() => parseConfig({ ...base, ...edits }, 'config.json'));
        if (!c) return;
        expect(c.width % c.numHeads).toBe(0);
        expect(c.lruWidth % c.numHeads).toBe(0);
        expect(c.headDim * c.numHeads).toBe(c.width);
        expect(c.blockTypes).toHaveLength(c.numLayers);
        expect(c.ropeDims % 2).toBe(0);
        expect(c.ropeDims).toBeLessThanOrEqual(c.headDim);
        for (const v of [c.vocabSize, c.width, c.mlpWidth, c.lruWidth, c.window, c.convWidth]) expect(Number.isSafeInteger(v) && v >= 1).toBe(true);
        expect(stateBytes(c)).toBeLessThanOrEqual(MAX_STATE_BYTES);
        expect(Number.isFinite(c.rmsNormEps) && Number.isFinite(c.ropeTheta) && c.ropeTheta > 0).toBe(true);
      }),
      { numRuns: RUNS * 3 },
    );
  });

  test('random JSON values as a config -> only CheckpointError', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 2 }), (v) => {
        onlyCheckpointErrors(() => parseConfig(v, 'config.json'));
      }),
      { numRuns: RUNS },
    );
  });

  test('random config.json text next to valid weights -> only CheckpointError', () => {
    const weights = fs.readFileSync(path.join(FIXTURE, 'model.safetensors'));
    const dir = checkpointWith(weights);
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.json({ maxDepth: 2 })), (text) => {
        fs.writeFileSync(path.join(dir, 'config.json'), text);
        onlyCheckpointErrors(() => openCheckpoint(dir));
      }),
      { numRuns: Math.min(RUNS, 100) },
    );
  });
});

describe('native re-validation', () => {
  // The addon trusts nothing from JavaScript: random tensor lists over the real fixture file must
  // end in a coded error (or a valid model), never an out-of-bounds read.
  const good = openCheckpoint(FIXTURE);
  const c = good.config;
  const nativeConfig = {
    vocabSize: c.vocabSize, width: c.width, mlpWidth: c.mlpWidth, lruWidth: c.lruWidth, numHeads: c.numHeads,
    headDim: c.headDim, window: c.window, convWidth: c.convWidth, logitsSoftCap: c.logitsSoftCap, rmsNormEps: c.rmsNormEps,
    embedScale: c.embedScale, ropeTheta: c.ropeTheta, ropeDims: c.ropeDims, blockTypes: c.blockTypes.map((b) => (b === 'attention' ? 1 : 0)),
  };
  const size = fs.statSync(good.files[0]!).size;

  test('mutated tensor lists -> a model, or an ERR_RG_ error', () => {
    const mutation = fc.record({
      index: fc.nat({ max: good.tensors.length - 1 }),
      field: fc.constantFrom('offset', 'nbytes', 'shape', 'dtype', 'file', 'name', 'drop', 'dup'),
      value: fc.oneof(fc.integer({ min: -8, max: 8 }), fc.constantFrom(size, size - 1, 2 ** 53, 2 ** 62, -1, 0.5, NaN)),
      dtype: fc.constantFrom('F32', 'BF16', 'F16', 'I8', 7),
    });
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 3 }), (muts) => {
        const tensors: Array<Record<string, unknown>> = good.tensors.map((t) => ({ ...t, shape: [...t.shape] }));
        for (const m of muts) {
          const t = tensors[m.index];
          if (!t) continue;
          const small = Math.abs(m.value) <= 8;
          if (m.field === 'offset') t.offset = small ? (t.offset as number) + m.value : m.value;
          else if (m.field === 'nbytes') t.nbytes = small ? (t.nbytes as number) + m.value : m.value;
          else if (m.field === 'shape') (t.shape as number[])[0] = small ? (t.shape as number[])[0]! + m.value : m.value;
          else if (m.field === 'dtype') t.dtype = m.dtype;
          else if (m.field === 'file') t.file = m.value;
          else if (m.field === 'name') t.name = `${t.name as string}x`;
          else if (m.field === 'drop') tensors.splice(m.index, 1);
          else tensors.push({ ...t });
        }
        try {
          const model = new addon.NativeModel(nativeConfig, good.files, tensors as unknown as TensorSource[], { threads: 1 });
          model.dispose();
        } catch (e) {
          expect((e as { code?: string }).code).toMatch(/^ERR_RG_[A-Z_]+$/);
        }
      }),
      { numRuns: Math.min(RUNS, 200) },
    );
  });
});
