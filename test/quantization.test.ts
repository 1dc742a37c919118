/**
 * Quantized weights: the stored format against an independent re-implementation of the
 * quantization rule, the file round trip (a folder written by quantizeCheckpoint loads to the same
 * logits as quantizing at load), loader checks, and the quality cost on the demo model and the
 * fixture against the unquantized path.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CheckpointError, DEFAULT_MODEL_DIR, InvalidArgumentError, RecurrentGemma, openCheckpoint } from '../lib';
import { compareLogits, demoEvaluationTokens, measureQuality } from '../lib/bench/quality';
import { addon } from '../lib/native';
import { quantizeCheckpoint } from '../lib/quantize';
import { synthesizeCheckpoint } from '../lib/synth';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-quant-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Reference: scale = max|w| / qmax, q = clamp(round-half-even(w / scale)). */
function reference(w: Float32Array, cols: number, qmax: number, qmin: number): { q: number[]; scales: number[] } {
  const q: number[] = [], scales: number[] = [];
  for (let g = 0; g < w.length / 32; g++) {
    const grp = w.subarray(g * 32, g * 32 + 32);
    const amax = Math.max(...Array.from(grp, Math.abs));
    const scale = Math.fround(amax / qmax);
    scales.push(scale);
    const inv = scale > 0 ? Math.fround(1 / scale) : 0;
    for (const v of grp) {
      const x = Math.fround(v * inv);
      let r = Math.round(x);
      if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) r -= 1;  // ties to even, as nearbyint does
      q.push(Math.min(qmax, Math.max(qmin, r)) + 0);  // + 0 turns -0 into 0
    }
  }
  void cols;
  return { q, scales };
}

describe('quantize (native)', () => {
  const rows = 3, cols = 64;
  const w = new Float32Array(rows * cols).map((_, i) => Math.sin(i * 1.7) * (1 + (i % 7)));
  w.fill(0, 64, 96);  // an all-zero group gets scale 0

  test('int8 matches the reference rule', () => {
    const got = addon.quantize({ data: w, dtype: 'F32', rows, cols, format: 'int8' });
    const want = reference(w, cols, 127, -127);
    expect(Array.from(new Int8Array(got.data.buffer))).toEqual(want.q);
    expect(Array.from(got.scales)).toEqual(want.scales);
  });

  test('q4 packs two values per byte, low nibble first, value = nibble - 8', () => {
    const got = addon.quantize({ data: w, dtype: 'F32', rows, cols, format: 'q4' });
    const want = reference(w, cols, 7, -8);
    const unpacked: number[] = [];
    for (const b of got.data) unpacked.push((b & 15) - 8, (b >> 4) - 8);
    expect(unpacked).toEqual(want.q);
    expect(Array.from(got.scales)).toEqual(want.scales);
  });

  test('dequantized error is at most half a step per group', () => {
    const got = addon.quantize({ data: w, dtype: 'F32', rows, cols, format: 'int8' });
    const q = new Int8Array(got.data.buffer);
    for (let i = 0; i < w.length; i++) expect(Math.abs(q[i]! * got.scales[Math.floor(i / 32)]! - w[i]!)).toBeLessThanOrEqual(got.scales[Math.floor(i / 32)]! / 2 + 1e-6);
  });

  test('rejects widths that are not whole groups', () => {
    expect(() => addon.quantize({ data: new Float32Array(40), dtype: 'F32', rows: 1, cols: 40, format: 'int8' })).toThrow(/multiple of 32/);
  });
});

describe('quantized checkpoints', () => {
  const src = path.join(tmp, 'src');
  beforeAll(() => synthesizeCheckpoint(src, { preset: 'tiny', seed: 5 }));
  const ids = [2, 17, 99, 300, 5, 64, 411, 7];

  test.each(['int8', 'q4'] as const)('%s folder loads to the same logits as quantizing at load', async (format) => {
    const out = path.join(tmp, format);
    const r = quantizeCheckpoint(src, out, format);
    expect(r.quantized).toBe(1 + 3 * 3 + 3 * 2 + 4);  // embedding, 3 MLP x 3 layers, linear x/y/out x 2, q/k/v/o x 1
    const ck = openCheckpoint(out);
    expect(ck.quantization).toBe(format);
    expect(ck.tensors.find((t) => t.name === 'model.embed_tokens.weight')!.dtype).toBe(format === 'int8' ? 'Q8' : 'Q4');
    expect(ck.tensors.find((t) => t.name.endsWith('rg_lru.input_gate_weight'))!.dtype).toBe('BF16');
    const run = async (dir: string, weights: 'stored' | 'int8' | 'q4') => {
      const m = await RecurrentGemma.load(dir, { weights, threads: 1 });
      try {
        return await m.forward(m.createState(), ids, { allLogits: true });
      } finally {
        m.dispose();
      }
    };
    const fromFile = await run(out, 'stored');
    const atLoad = await run(src, format);
    expect(Array.from(fromFile)).toEqual(Array.from(atLoad));
    const original = await run(src, 'stored');
    expect(Array.from(fromFile)).not.toEqual(Array.from(original));
    // Asking for the folder's own format is fine, another one is refused.
    await expect(run(out, format)).resolves.toHaveLength(fromFile.length);
    await expect(RecurrentGemma.load(out, { weights: format === 'int8' ? 'q4' : 'int8' })).rejects.toThrow(InvalidArgumentError);
  });

  test('loader names missing scales, undeclared I8 tensors and mismatched config keys', () => {
    const out = path.join(tmp, 'int8');
    if (!fs.existsSync(out)) quantizeCheckpoint(src, out, 'int8');
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    const bad = path.join(tmp, 'bad');
    fs.mkdirSync(bad, { recursive: true });
    fs.copyFileSync(path.join(out, 'model.safetensors'), path.join(bad, 'model.safetensors'));
    fs.writeFileSync(path.join(bad, 'config.json'), JSON.stringify({ ...cfg, recurrentgemma_quantization: 'q4' }));
    expect(() => openCheckpoint(bad)).toThrow(/recurrentgemma_quantization = "q4" but the weights are "int8"/);
    // Strip the metadata: I8 tensors are then refused by name.
    const buf = fs.readFileSync(path.join(out, 'model.safetensors'));
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
    header.__metadata__ = { format: 'pt' };
    const json = JSON.stringify(header).padEnd(n, ' ');
    const stripped = Buffer.concat([buf.subarray(0, 8), Buffer.from(json), buf.subarray(8 + n)]);
    fs.writeFileSync(path.join(bad, 'model.safetensors'), stripped);
    fs.writeFileSync(path.join(bad, 'config.json'), JSON.stringify({ ...cfg, recurrentgemma_quantization: undefined }));
    let err: unknown;
    try {
      openCheckpoint(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    expect((err as Error).message).toMatch(/model\.embed_tokens\.weight is I8 but the file does not declare "recurrentgemma\.quantization"/);
  });
});

/**
 * Quality bounds are loose but meaningful: the demo model (a trained model, BF16) must keep its
 * predictions under int8; the fixture (random weights with very peaked logits, so sensitive to
 * any perturbation) gets wider bounds. Measured values are in the README's Performance section.
 */
describe('quality cost of quantization', () => {
  // The first cases of the demo model's golden continuations (~200 tokens of Python it writes).
  const demo = demoEvaluationTokens(DEFAULT_MODEL_DIR).slice(0, 200);
  const logits = new Map<string, Float32Array>();
  let V = 0;
  beforeAll(async () => {
    for (const weights of ['stored', 'int8', 'q4'] as const) {
      const m = await RecurrentGemma.load(DEFAULT_MODEL_DIR, { weights });
      V = m.config.vocabSize;
      logits.set(weights, await m.forward(m.createState(), demo, { allLogits: true }));
      m.dispose();
    }
  });

  test('demo model int8: top-1 agreement >= 95 %, KL < 0.01, perplexity within 1 %', () => {
    const q = compareLogits(logits.get('stored')!, logits.get('int8')!, demo, V);
    expect(q.top1Agreement).toBeGreaterThanOrEqual(0.95);
    expect(q.klMean).toBeLessThan(0.01);
    expect(Math.abs(q.perplexity / q.perplexityReference - 1)).toBeLessThan(0.01);
  });

  test('demo model q4: top-1 agreement >= 80 %, KL < 0.15, perplexity within 10 %, and worse than int8', () => {
    const q = compareLogits(logits.get('stored')!, logits.get('q4')!, demo, V);
    expect(q.top1Agreement).toBeGreaterThanOrEqual(0.8);
    expect(q.klMean).toBeLessThan(0.15);
    expect(Math.abs(q.perplexity / q.perplexityReference - 1)).toBeLessThan(0.1);
    expect(q.klMean).toBeGreaterThan(compareLogits(logits.get('stored')!, logits.get('int8')!, demo, V).klMean);
  });

  test('identical logits compare as full agreement and zero KL', () => {
    const q = compareLogits(logits.get('stored')!, logits.get('stored')!, demo, V);
    expect(q.top1Agreement).toBe(1);
    expect(Math.abs(q.klMean)).toBeLessThan(1e-9);
    expect(q.perplexity).toBeCloseTo(q.perplexityReference, 9);
  });

  test('fixture int8: top-1 agreement >= 85 %, KL < 0.05', async () => {
    const fixture = path.join(__dirname, 'fixtures', 'tiny-f32');
    const q = await measureQuality(fixture, 'int8', demo.slice(0, 64).map((t) => t % 256));
    expect(q.top1Agreement).toBeGreaterThanOrEqual(0.85);
    expect(q.klMean).toBeLessThan(0.05);
  });
});
