/**
 * Writes a quantized copy of a checkpoint folder (the convention of lib/checkpoint/quantized.ts),
 * which then loads without re-quantizing. The quantization itself is the engine's own (native
 * quantize_rows), so a quantized folder and load-time quantization give identical weights.
 */
import * as fs from 'fs';
import * as path from 'path';

import {
  isQuantizable,
  openCheckpoint,
  QUANT_GROUP,
  QUANTIZATION_CONFIG_KEY,
  QUANTIZATION_METADATA_KEY,
  quantizedLayout,
  SCALES_SUFFIX,
  type DType,
  type Quantization,
} from './checkpoint';
import { DTYPE_SIZE } from './checkpoint/safetensors';
import { SafetensorsWriter, type TensorPlan } from './checkpoint/writer';
import { CheckpointError, InvalidArgumentError } from './errors';
import { addon } from './native';

export interface QuantizeOptions {
  /** Called after each tensor with the bytes of the source read so far and in total. */
  onProgress?: (done: number, total: number, tensor: string) => void;
}

export interface QuantizeResult {
  outDir: string;
  format: Quantization;
  /** Tensors quantized / copied as they were. */
  quantized: number;
  copied: number;
  /** Size of the written model.safetensors. */
  bytes: number;
}

/** Rows per read: keeps each chunk around 64 MiB of source. */
const CHUNK_BYTES = 64 << 20;

function readRange(fd: number, offset: number, nbytes: number): Uint8Array {
  // A fresh ArrayBuffer, so the bytes are aligned for Uint16 / Float32 views.
  const out = new Uint8Array(new ArrayBuffer(nbytes));
  let done = 0;
  while (done < nbytes) {
    const n = fs.readSync(fd, out, done, nbytes - done, offset + done);
    if (n === 0) throw new CheckpointError(`unexpected end of file at byte ${offset + done}`, 'ERR_RG_TRUNCATED');
    done += n;
  }
  return out;
}

/** Quantizes the projection matrices of the checkpoint in `inDir` into a new folder `outDir`. */
export function quantizeCheckpoint(inDir: string, outDir: string, format: Quantization, options: QuantizeOptions = {}): QuantizeResult {
  if (format !== 'int8' && format !== 'q4') throw new InvalidArgumentError(`format must be 'int8' or 'q4', got ${JSON.stringify(format)}`);
  const src = openCheckpoint(path.resolve(inDir));
  if (src.quantization !== null) throw new InvalidArgumentError(`${src.dir} is already quantized (${src.quantization}); quantize the original checkpoint`);
  const out = path.resolve(outDir);
  if (out === src.dir) throw new InvalidArgumentError('the output folder must differ from the input folder');
  fs.mkdirSync(out, { recursive: true });

  // Layout: 4-byte tensors, then each quantized matrix followed by its scales (both multiples of
  // 4 bytes), then 2-byte tensors, so every tensor starts aligned to its element size.
  const wide: TensorPlan[] = [], pairs: TensorPlan[] = [], narrow: TensorPlan[] = [];
  for (const t of src.tensors) {
    const dtype = t.dtype as DType;
    if (isQuantizable(t.name, t.shape)) {
      const [rows, cols] = t.shape as [number, number];
      pairs.push({ name: t.name, dtype: quantizedLayout(format, rows, cols).dtype, shape: quantizedLayout(format, rows, cols).shape });
      pairs.push({ name: t.name + SCALES_SUFFIX, dtype: 'F32', shape: [rows, cols / QUANT_GROUP] });
    } else (DTYPE_SIZE[dtype] >= 4 ? wide : narrow).push({ name: t.name, dtype, shape: t.shape });
  }
  const file = path.join(out, 'model.safetensors');
  const writer = new SafetensorsWriter(file, [...wide, ...pairs, ...narrow], { format: 'pt', [QUANTIZATION_METADATA_KEY]: format }, true);
  const byName = new Map(src.tensors.map((t) => [t.name, t]));
  const fds = src.files.map((f) => fs.openSync(f, 'r'));
  const total = src.tensors.reduce((s, t) => s + t.nbytes, 0);
  let done = 0, nQuantized = 0, nCopied = 0;
  try {
    while (writer.next) {
      const plan = writer.next;
      const t = byName.get(plan.name)!;
      const fd = fds[t.file]!;
      if (plan.dtype === 'I8' || plan.dtype === 'U8') {
        const [rows, cols] = t.shape as [number, number];
        const rowBytes = t.nbytes / rows;
        const step = Math.max(1, Math.floor(CHUNK_BYTES / rowBytes));
        const scales: Float32Array[] = [];
        for (let r = 0; r < rows; r += step) {
          const n = Math.min(step, rows - r);
          const raw = readRange(fd, t.offset + r * rowBytes, n * rowBytes);
          const data = t.dtype === 'F32' ? new Float32Array(raw.buffer) : new Uint16Array(raw.buffer);
          const q = addon.quantize({ data, dtype: t.dtype as 'F32' | 'BF16' | 'F16', rows: n, cols, format });
          writer.write(plan.name, q.data);
          scales.push(q.scales);
        }
        for (const s of scales) writer.write(plan.name + SCALES_SUFFIX, s);
        nQuantized++;
      } else {
        for (let o = 0; o < t.nbytes; o += CHUNK_BYTES) writer.write(plan.name, readRange(fd, t.offset + o, Math.min(CHUNK_BYTES, t.nbytes - o)));
        nCopied++;
      }
      done += t.nbytes;
      options.onProgress?.(done, total, t.name);
    }
  } finally {
    for (const fd of fds) fs.closeSync(fd);
    writer.close();
  }

  // config.json with the quantization noted; every other non-weight file (tokenizer, README) copied.
  const config = JSON.parse(fs.readFileSync(path.join(src.dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  config[QUANTIZATION_CONFIG_KEY] = format;
  fs.writeFileSync(path.join(out, 'config.json'), JSON.stringify(config, null, 2) + '\n');
  for (const name of fs.readdirSync(src.dir)) {
    if (name === 'config.json' || name.endsWith('.safetensors') || name === 'model.safetensors.index.json') continue;
    const from = path.join(src.dir, name);
    if (fs.statSync(from).isFile()) fs.copyFileSync(from, path.join(out, name));
  }
  return { outDir: out, format, quantized: nQuantized, copied: nCopied, bytes: fs.statSync(file).size };
}
