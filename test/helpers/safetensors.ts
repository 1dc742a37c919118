/** Minimal reader for the golden files (F32 and I32 tensors), independent of the package's loader. */
import * as fs from 'fs';

export type GoldenTensor = { shape: number[]; data: Float32Array | Int32Array };

export function readGolden(file: string): Map<string, GoldenTensor> {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, GoldenTensor>();
  for (const [name, e] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const bytes = buf.subarray(8 + n + e.data_offsets[0], 8 + n + e.data_offsets[1]);
    const copy = new Uint8Array(bytes).buffer;
    const data = e.dtype === 'I32' ? new Int32Array(copy) : new Float32Array(copy);
    out.set(name, { shape: e.shape, data });
  }
  return out;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

export function argmax(a: ArrayLike<number>, offset = 0, n = a.length): number {
  let best = offset;
  for (let i = offset; i < offset + n; i++) if (a[i]! > a[best]!) best = i;
  return best - offset;
}
