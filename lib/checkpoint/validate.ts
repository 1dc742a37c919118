/**
 * The `validate` step: everything openCheckpoint() checks, collected into a report instead of
 * thrown, plus what loading does not check because it would cost a pass over the weights: a scan
 * of every tensor's values for NaN and ±Inf. The scan streams each file in fixed-size chunks, so a
 * multi-GB checkpoint is checked in constant memory.
 */
import * as fs from 'fs';

import { CheckpointError, InvalidArgumentError } from '../errors';
import type { ModelConfig } from './config';
import { openCheckpoint, readConfig, type Checkpoint } from './open';
import { DTYPE_SIZE, storageDType, type DType, type TensorSource } from './safetensors';
import { validateTokenizer, type TokenizerSummary } from './validate-tokenizer';

export interface ValidateOptions {
  /** Read every weight and report tensors holding NaN or ±Inf (default false: header checks only). */
  scanValues?: boolean;
  /** Bytes read per chunk while scanning (default 16 MiB; rounded down to a multiple of 4). */
  chunkBytes?: number;
  /** Called after each chunk with the bytes scanned so far and the total (for a progress bar). */
  onProgress?: (scannedBytes: number, totalBytes: number) => void;
}

export interface ValidationIssue {
  /** 'error': the model cannot be loaded or would compute garbage; 'warning': it loads, at a cost. */
  severity: 'error' | 'warning';
  /** The same codes CheckpointError uses (ERR_RG_*). */
  code: string;
  message: string;
  file?: string;
  tensor?: string;
}

/** How many elements of one tensor are not finite. */
export interface NonFiniteCounts {
  tensor: string;
  file: string;
  nan: number;
  posInf: number;
  negInf: number;
  /** Flat index of the first non-finite element. */
  firstIndex: number;
}

export interface ValidationReport {
  dir: string;
  /** True when there is no issue of severity 'error'. */
  ok: boolean;
  /** The parsed config, when config.json was valid. */
  config?: ModelConfig;
  /** Tensors the model uses (0 when the structure was invalid). */
  tensorCount: number;
  /** Bytes of weights whose values were scanned (0 without scanValues). */
  scannedBytes: number;
  issues: ValidationIssue[];
  /** Tensors with NaN or ±Inf values, in checkpoint order (only with scanValues). */
  nonFinite: NonFiniteCounts[];
  /** The tokenizer and chat template, when tokenizer.json loaded (see validate-tokenizer.ts); absent without one. */
  tokenizer?: TokenizerSummary;
}

const DEFAULT_CHUNK = 16 * 1024 * 1024;

/**
 * Checks a checkpoint folder and reports every problem found. A bad checkpoint does not throw
 * (its problems are the report); bad options throw InvalidArgumentError.
 */
export async function validateCheckpoint(dir: string, options: ValidateOptions = {}): Promise<ValidationReport> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 4 || chunkBytes > 1 << 30)
    throw new InvalidArgumentError(`chunkBytes must be an integer in [4, 2^30], got ${String(chunkBytes)}`, 'ERR_RG_OUT_OF_RANGE');
  const report: ValidationReport = { dir, ok: true, tensorCount: 0, scannedBytes: 0, issues: [], nonFinite: [] };
  let checkpoint: Checkpoint;
  try {
    checkpoint = openCheckpoint(dir);
  } catch (e) {
    if (!(e instanceof CheckpointError)) throw e;
    report.ok = false;
    report.issues.push({ severity: 'error', code: e.code, message: e.message, file: e.file, tensor: e.tensor });
    // The tokenizer is checked even when the weights are not usable: both get fixed at once.
    let config: ModelConfig | undefined;
    try {
      config = readConfig(dir);
    } catch {
      config = undefined;
    }
    if (fs.existsSync(dir)) report.tokenizer = validateTokenizer(dir, config, report.issues);
    return report;
  }
  report.config = checkpoint.config;
  report.tensorCount = checkpoint.tensors.length;

  // Misaligned data is accepted (the loader copies such tensors into aligned memory instead of
  // mapping them), but it costs memory, so it is worth a warning.
  for (const t of checkpoint.tensors) {
    if (t.offset % DTYPE_SIZE[storageDType(t.dtype)] !== 0) {
      report.issues.push({
        severity: 'warning',
        code: 'ERR_RG_MISALIGNED',
        message: `${checkpoint.files[t.file]}: tensor ${t.name} starts at byte ${t.offset}, not a multiple of its ${t.dtype} element size; it will be copied at load`,
        file: checkpoint.files[t.file],
        tensor: t.name,
      });
    }
  }

  report.tokenizer = validateTokenizer(checkpoint.dir, checkpoint.config, report.issues);

  if (options.scanValues) {
    const total = checkpoint.tensors.reduce((s, t) => s + t.nbytes, 0);
    await scanValues(checkpoint, chunkBytes - (chunkBytes % 4), total, report, options.onProgress);
  }
  report.ok = !report.issues.some((i) => i.severity === 'error');
  return report;
}

async function scanValues(
  checkpoint: Checkpoint,
  chunkBytes: number,
  total: number,
  report: ValidationReport,
  onProgress?: (scanned: number, total: number) => void,
): Promise<void> {
  // One buffer for the whole scan, starting at byte 0 of its own ArrayBuffer so typed views align.
  const buf = new Uint8Array(new ArrayBuffer(chunkBytes));
  const byFile = new Map<number, TensorSource[]>();
  for (const t of checkpoint.tensors) byFile.set(t.file, [...(byFile.get(t.file) ?? []), t]);
  for (const [fileIndex, tensors] of [...byFile.entries()].sort((a, b) => a[0] - b[0])) {
    const file = checkpoint.files[fileIndex]!;
    const fh = await fs.promises.open(file, 'r');
    try {
      // In file order, so the reads stream forward through the file.
      for (const t of [...tensors].sort((a, b) => a.offset - b.offset)) {
        const counts: NonFiniteCounts = { tensor: t.name, file, nan: 0, posInf: 0, negInf: 0, firstIndex: -1 };
        const esize = DTYPE_SIZE[storageDType(t.dtype)];
        let done = 0;
        while (done < t.nbytes) {
          const want = Math.min(chunkBytes, t.nbytes - done);
          const { bytesRead } = await fh.read(buf, 0, want, t.offset + done);
          if (bytesRead !== want)
            throw new CheckpointError(`${file}: file shrank while scanning tensor ${t.name}`, 'ERR_RG_TRUNCATED', { file, tensor: t.name });
          countNonFinite(storageDType(t.dtype), buf, want, done / esize, counts);
          done += want;
          report.scannedBytes += want;
          onProgress?.(report.scannedBytes, total);
        }
        if (counts.firstIndex >= 0) {
          report.nonFinite.push(counts);
          report.issues.push({
            severity: 'error',
            code: 'ERR_RG_NON_FINITE',
            message: `${file}: tensor ${t.name} holds ${counts.nan} NaN, ${counts.posInf} +Inf and ${counts.negInf} -Inf values (first at flat index ${counts.firstIndex})`,
            file,
            tensor: t.name,
          });
        }
      }
    } finally {
      await fh.close();
    }
  }
}

/**
 * Counts NaN/±Inf among the first `nbytes` bytes of `buf` (elements of `dtype` in host byte
 * order, which is little-endian like safetensors on every platform the addon builds for;
 * the first one being element `first` of the tensor). A float is not finite exactly when all its
 * exponent bits are set; the mantissa then tells NaN (non-zero) from Inf, the sign bit ±.
 */
export function countNonFinite(dtype: DType, buf: Uint8Array, nbytes: number, first: number, out: NonFiniteCounts): void {
  const note = (i: number, isNan: boolean, negative: boolean) => {
    if (isNan) out.nan++;
    else if (negative) out.negInf++;
    else out.posInf++;
    if (out.firstIndex < 0) out.firstIndex = first + i;
  };
  if (dtype === 'I8' || dtype === 'U8') return;  // quantized weights: integers, always finite
  if (dtype === 'F32') {
    const v = new Uint32Array(buf.buffer, buf.byteOffset, nbytes >>> 2);
    for (let i = 0; i < v.length; i++) {
      const u = v[i]!;
      if ((u & 0x7f800000) === 0x7f800000) note(i, (u & 0x007fffff) !== 0, u >>> 31 === 1);
    }
  } else {
    const v = new Uint16Array(buf.buffer, buf.byteOffset, nbytes >>> 1);
    // BF16: 8 exponent bits (0x7f80), 7 mantissa; F16: 5 exponent bits (0x7c00), 10 mantissa.
    const exp = dtype === 'BF16' ? 0x7f80 : 0x7c00;
    const man = dtype === 'BF16' ? 0x007f : 0x03ff;
    for (let i = 0; i < v.length; i++) {
      const h = v[i]!;
      if ((h & exp) === exp) note(i, (h & man) !== 0, h >>> 15 === 1);
    }
  }
}
