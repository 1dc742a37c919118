/**
 * validateCheckpoint(): structural problems become report entries, every tensor's values are
 * scanned for NaN/±Inf (in small chunks here, so element counts must add up across chunk
 * boundaries), and misaligned tensor data is reported as a warning while still loading correctly.
 */
import * as fs from 'fs';
import * as path from 'path';

import { RecurrentGemma, validateCheckpoint } from '../lib';
import { countNonFinite } from '../lib/checkpoint/validate';
import { checkpointWith, entries, fixture, FIXTURE, removeTempCheckpoints, safetensorsBytes, tempCheckpoint, type Entry } from './helpers/hostile';

afterAll(removeTempCheckpoints);

const TINY_BF16 = path.join(__dirname, '..', 'models', 'tiny-python');

describe('value scan', () => {
  test('the clean fixtures have no issue and every weight byte is scanned', async () => {
    for (const dir of [FIXTURE, TINY_BF16]) {
      const r = await validateCheckpoint(dir, { scanValues: true, chunkBytes: 4096 });
      expect(r.issues).toEqual([]);
      expect(r.ok).toBe(true);
      const header = entries(dir === FIXTURE ? fixture().header : readHeader(path.join(dir, 'model.safetensors')));
      const needed = header.filter(([n]) => n !== 'lm_head.weight').reduce((s, [, e]) => s + e.data_offsets[1] - e.data_offsets[0], 0);
      expect(r.scannedBytes).toBe(needed);
      expect(r.tensorCount).toBe(header.filter(([n]) => n !== 'lm_head.weight').length);
    }
  });

  test('without scanValues nothing is read beyond the headers', async () => {
    const r = await validateCheckpoint(FIXTURE);
    expect(r.ok).toBe(true);
    expect(r.scannedBytes).toBe(0);
  });

  test('F32 NaN, +Inf and -Inf are counted per tensor and located', async () => {
    const { header, data } = fixture();
    const [a, b] = ['model.layers.1.mlp_block.down_proj.weight', 'model.final_norm.weight'];
    const ea = header[a] as Entry;
    const eb = header[b] as Entry;
    // Poison elements on both sides of 4 KiB chunk boundaries.
    const idxA = [0, 1023, 1024, 5000, ea.shape[0]! * ea.shape[1]! - 1];
    idxA.forEach((i, k) => data.writeFloatLE([NaN, Infinity, -Infinity, NaN, Infinity][k]!, ea.data_offsets[0] + 4 * i));
    data.writeUInt32LE(0xff800001, eb.data_offsets[0] + 4 * 7); // a negative NaN with payload 1
    const dir = checkpointWith(safetensorsBytes({ header, data }));
    const r = await validateCheckpoint(dir, { scanValues: true, chunkBytes: 4096 });
    expect(r.ok).toBe(false);
    const file = path.join(dir, 'model.safetensors');
    expect(r.nonFinite).toEqual(
      expect.arrayContaining([
        { tensor: a, file, nan: 2, posInf: 2, negInf: 1, firstIndex: 0 },
        { tensor: b, file, nan: 1, posInf: 0, negInf: 0, firstIndex: 7 },
      ]),
    );
    expect(r.nonFinite).toHaveLength(2);
    expect(r.issues.filter((i) => i.code === 'ERR_RG_NON_FINITE').map((i) => i.tensor).sort()).toEqual([a, b].sort());
  });

  test('BF16 NaN and Inf in the demo model are found; largest finite values are not', async () => {
    const src = fs.readFileSync(path.join(TINY_BF16, 'model.safetensors'));
    const n = Number(src.readBigUInt64LE(0));
    const header = readHeader(path.join(TINY_BF16, 'model.safetensors'));
    const name = 'model.embed_tokens.weight';
    const e = header[name] as Entry;
    const buf = Buffer.from(src);
    const at = (i: number) => 8 + n + e.data_offsets[0] + 2 * i;
    buf.writeUInt16LE(0x7f7f, at(10)); // largest finite bf16
    buf.writeUInt16LE(0xff7f, at(11)); // most negative finite
    buf.writeUInt16LE(0x7f80, at(12)); // +Inf
    buf.writeUInt16LE(0x7fc0, at(13)); // NaN
    buf.writeUInt16LE(0xff80, at(2049)); // -Inf
    const dir = tempCheckpoint(JSON.parse(fs.readFileSync(path.join(TINY_BF16, 'config.json'), 'utf8')));
    fs.writeFileSync(path.join(dir, 'model.safetensors'), buf);
    const r = await validateCheckpoint(dir, { scanValues: true, chunkBytes: 4096 });
    expect(r.nonFinite).toEqual([{ tensor: name, file: path.join(dir, 'model.safetensors'), nan: 1, posInf: 1, negInf: 1, firstIndex: 12 }]);
  });

  test('F16 classification matches the IEEE half-precision layout', () => {
    const bits = new Uint16Array([0x7bff, 0xfbff, 0x7c00, 0xfc00, 0x7e00, 0x7c01, 0x0001, 0x0000]);
    const out = { tensor: 't', file: 'f', nan: 0, posInf: 0, negInf: 0, firstIndex: -1 };
    countNonFinite('F16', new Uint8Array(bits.buffer), bits.byteLength, 100, out);
    expect(out).toEqual({ tensor: 't', file: 'f', nan: 2, posInf: 1, negInf: 1, firstIndex: 102 });
  });

  test('structural problems become an error entry instead of a throw', async () => {
    const { header, data } = fixture();
    (header['model.final_norm.weight'] as Entry).dtype = 'Q8';
    const r = await validateCheckpoint(checkpointWith(safetensorsBytes({ header, data })), { scanValues: true });
    expect(r.ok).toBe(false);
    expect(r.issues).toEqual([expect.objectContaining({ severity: 'error', code: 'ERR_RG_DTYPE', tensor: 'model.final_norm.weight' })]);
    expect(r.scannedBytes).toBe(0);
  });

  test('bad options are rejected', async () => {
    await expect(validateCheckpoint(FIXTURE, { chunkBytes: 2 })).rejects.toMatchObject({ code: 'ERR_RG_OUT_OF_RANGE' });
  });
});

describe('misaligned tensor data (decision: accepted with an aligned copy, reported as a warning)', () => {
  test.each([1, 2, 3])('data section starting at 4k + %i: warning per tensor, identical logits', async (misalign) => {
    const { header, data } = fixture();
    // Trailing spaces are legal JSON; they shift the data section off 4-byte alignment.
    const text = JSON.stringify(header);
    const pad = (((misalign - 8 - text.length) % 4) + 4) % 4;
    const dir = checkpointWith(safetensorsBytes({ headerText: text + ' '.repeat(pad), data }));
    const r = await validateCheckpoint(dir);
    expect(r.ok).toBe(true);
    const warned = r.issues.filter((i) => i.code === 'ERR_RG_MISALIGNED');
    expect(warned).toHaveLength(r.tensorCount);
    expect(warned.every((i) => i.severity === 'warning')).toBe(true);

    const aligned = await RecurrentGemma.load(FIXTURE, { threads: 1 });
    const shifted = await RecurrentGemma.load(dir, { threads: 1 });
    try {
      const tokens = [2, 100, 200, 300, 400, 511, 0, 7];
      expect(await shifted.forward(shifted.createState(), tokens, { allLogits: true })).toEqual(
        await aligned.forward(aligned.createState(), tokens, { allLogits: true }),
      );
      // The cost of the decision: every matrix is copied instead of mapped.
      const matrices = entries(header).filter(([n, e]) => e.shape.length === 2 && n.endsWith('.weight')).reduce((s, [, e]) => s + e.data_offsets[1] - e.data_offsets[0], 0);
      expect(shifted.runtime.ownedBytes - aligned.runtime.ownedBytes).toBe(matrices);
    } finally {
      aligned.dispose();
      shifted.dispose();
    }
  });
});

function readHeader(file: string): Record<string, unknown> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  return JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
}
