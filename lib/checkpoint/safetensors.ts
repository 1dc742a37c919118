import * as fs from 'fs';

import { notRegularFile, READ_NONBLOCKING } from '../file-kind';
import { CheckpointError } from '../errors';

/** Safetensors dtypes the engine reads (I8 / U8 only as quantized weights, see quantized.ts). */
export type DType = 'F32' | 'BF16' | 'F16' | 'I8' | 'U8';

/** Element sizes of the dtypes the engine reads. */
export const DTYPE_SIZE: Record<DType, number> = { F32: 4, BF16: 2, F16: 2, I8: 1, U8: 1 };

/** Safetensors dtypes that exist but the engine cannot use as weights. */
const KNOWN_OTHER_DTYPES = new Set(['F64', 'I64', 'I32', 'I16', 'U16', 'U32', 'U64', 'BOOL', 'F8_E4M3', 'F8_E5M2']);

/** How the native engine is told a tensor is stored: a safetensors dtype, or a quantized format. */
export type WeightDType = DType | 'Q8' | 'Q4';

/** The safetensors dtype a tensor is stored as (quantized matrices: I8 / U8 bytes). */
export function storageDType(t: WeightDType): DType {
  return t === 'Q8' ? 'I8' : t === 'Q4' ? 'U8' : t;
}

/**
 * Where a tensor's bytes are and what they hold. The one shape every layer passes tensors in:
 * the checkpoint's tensor list, the weights fingerprint and the native loader all take it.
 */
export interface TensorSource {
  name: string;
  /** Index into the checkpoint's list of files. */
  file: number;
  /** Q8 / Q4 for pre-quantized matrices: shape is then the logical [rows, cols]. */
  dtype: WeightDType;
  shape: number[];
  /** Absolute byte position of the data in its file. */
  offset: number;
  nbytes: number;
}

/** One tensor as a safetensors header lists it: a TensorSource before its file index is known, dtype as stored. */
export type TensorEntry = Omit<TensorSource, 'file' | 'dtype'> & { dtype: DType };

export interface SafetensorsFile {
  path: string;
  size: number;
  /** Absolute offset of the data section (8 + header length). */
  dataOffset: number;
  tensors: Map<string, TensorEntry>;
  metadata: Record<string, string>;
}

/** Headers beyond this are refused before anything is allocated (real ones are < 1 MiB). */
export const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function fail(file: string, message: string, code: string, tensor?: string): never {
  throw new CheckpointError(`${file}: ${message}`, code, { file, tensor });
}

/** Element size of a dtype the engine reads (the alignment a tensor's data needs). */
export function dtypeSize(dtype: DType): number {
  return DTYPE_SIZE[dtype];
}

/**
 * Reads and validates the header of a safetensors file without touching its data: every entry's
 * dtype, shape and byte range is checked against the file size and against each other. Nothing
 * larger than the header is allocated, and the header only once its length fits the file.
 */
export function readSafetensorsHeader(path: string): SafetensorsFile {
  const problem = notRegularFile(path);
  if (problem !== undefined) fail(path, problem, 'ERR_RG_FILE_NOT_FOUND');
  let fd: number;
  try {
    fd = fs.openSync(path, READ_NONBLOCKING);
  } catch (e) {
    fail(path, `cannot open (${(e as Error).message})`, 'ERR_RG_FILE_NOT_FOUND');
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) fail(path, notRegularFile(path) ?? 'is not a regular file', 'ERR_RG_FILE_NOT_FOUND');
    const size = stat.size;
    if (size < 8) fail(path, `file is ${size} bytes, too short for a safetensors header`, 'ERR_RG_TRUNCATED');
    const lenBuf = Buffer.alloc(8);
    readFully(fd, lenBuf, 0, path);
    const headerLen = lenBuf.readBigUInt64LE(0);
    if (headerLen > BigInt(MAX_HEADER_BYTES)) fail(path, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte limit`, 'ERR_RG_HEADER_TOO_LARGE');
    if (headerLen > BigInt(size - 8)) fail(path, `header length ${headerLen} runs past the end of the ${size}-byte file`, 'ERR_RG_TRUNCATED');
    const n = Number(headerLen);
    const headerBuf = Buffer.alloc(n);
    readFully(fd, headerBuf, 8, path);
    return parseHeaderBytes(path, size, headerBuf);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads exactly buf.length bytes at `position` (a short read means the file changed under us). */
function readFully(fd: number, buf: Buffer, position: number, path: string): void {
  let done = 0;
  while (done < buf.length) {
    let n: number;
    try {
      n = fs.readSync(fd, buf, done, buf.length - done, position + done);
    } catch (e) {
      fail(path, `cannot read (${(e as Error).message})`, 'ERR_RG_FILE_NOT_FOUND');
    }
    if (n === 0) fail(path, `file ended after ${position + done} bytes while reading the header`, 'ERR_RG_TRUNCATED');
    done += n;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Validates the raw header bytes of a file of `size` bytes (exported for property-based tests):
 * UTF-8, a JSON object starting with '{' (as the reference reader requires), no duplicate keys,
 * then every entry via parseHeader().
 */
export function parseHeaderBytes(path: string, size: number, headerBytes: Uint8Array): SafetensorsFile {
  if (headerBytes.length === 0 || headerBytes[0] !== 0x7b) fail(path, "header does not start with '{'", 'ERR_RG_BAD_HEADER');
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    fail(path, 'header is not valid UTF-8', 'ERR_RG_BAD_HEADER');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(path, `header is not valid JSON (${(e as Error).message})`, 'ERR_RG_BAD_HEADER');
  }
  // JSON.parse keeps the last of two equal keys; a second entry for a tensor must not pass unseen.
  const dup = firstDuplicateKey(text);
  if (dup !== undefined) fail(path, `header lists ${JSON.stringify(dup)} more than once`, 'ERR_RG_DUPLICATE_TENSOR', dup);
  return parseHeader(path, size, 8 + headerBytes.length, header);
}

/**
 * Scans JSON text that JSON.parse already accepted and returns the first key that occurs twice in
 * one object, at any depth.
 */
export function firstDuplicateKey(text: string): string | undefined {
  // One entry per open container: the keys seen so far for objects, null for arrays.
  const stack: Array<Set<string> | null> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22 /* " */) {
      let j = i + 1;
      while (text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c /* \ */ ? 2 : 1;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
      }
      expectKey = false;
      i = j;
    } else if (ch === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (ch === 0x5b /* [ */) {
      stack.push(null);
    } else if (ch === 0x7d /* } */ || ch === 0x5d /* ] */) {
      stack.pop();
    } else if (ch === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return undefined;
}

function isUint(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Validates a parsed header object (exported for property-based tests). */
export function parseHeader(path: string, size: number, dataOffset: number, header: unknown): SafetensorsFile {
  if (typeof header !== 'object' || header === null || Array.isArray(header))
    fail(path, 'header must be a JSON object', 'ERR_RG_BAD_HEADER');
  const dataSize = size - dataOffset;
  const tensors = new Map<string, TensorEntry>();
  let metadata: Record<string, string> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, value] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        fail(path, '__metadata__ must be an object of strings', 'ERR_RG_BAD_HEADER');
      for (const [k, v] of Object.entries(value)) {
        if (typeof v !== 'string') fail(path, `__metadata__.${k} must be a string`, 'ERR_RG_BAD_HEADER');
      }
      metadata = value as Record<string, string>;
      continue;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value))
      fail(path, `tensor ${name}: entry must be an object`, 'ERR_RG_BAD_HEADER', name);
    const e = value as Record<string, unknown>;
    const dtype = e.dtype;
    if (typeof dtype !== 'string' || !(dtype in DTYPE_SIZE)) {
      const known = typeof dtype === 'string' && KNOWN_OTHER_DTYPES.has(dtype);
      fail(path, `tensor ${name}: ${known ? 'unsupported' : 'unknown'} dtype ${JSON.stringify(dtype)} (expected F32, BF16, F16, or I8 / U8 for quantized weights)`, 'ERR_RG_DTYPE', name);
    }
    const shape = e.shape;
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every(isUint))
      fail(path, `tensor ${name}: shape must be a list of at most 8 non-negative integers`, 'ERR_RG_BAD_HEADER', name);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isUint))
      fail(path, `tensor ${name}: data_offsets must be two non-negative integers`, 'ERR_RG_BAD_HEADER', name);
    const [begin, end] = offsets as [number, number];
    if (end < begin) fail(path, `tensor ${name}: data_offsets end ${end} is before begin ${begin}`, 'ERR_RG_BAD_OFFSETS', name);
    if (end > dataSize) fail(path, `tensor ${name}: data [${begin}, ${end}) runs past the end of the file (data section is ${dataSize} bytes)`, 'ERR_RG_TRUNCATED', name);
    const elemSize = DTYPE_SIZE[dtype as DType];
    let count = 1;
    for (const d of shape as number[]) count *= d;
    if (!Number.isSafeInteger(count * elemSize) || count * elemSize !== end - begin)
      fail(path, `tensor ${name}: shape [${(shape as number[]).join(', ')}] x ${dtype} needs ${count * elemSize} bytes but data_offsets span ${end - begin}`, 'ERR_RG_SIZE_MISMATCH', name);
    tensors.set(name, { name, dtype: dtype as DType, shape: shape as number[], offset: dataOffset + begin, nbytes: end - begin });
    if (end > begin) ranges.push([begin, end, name]);
  }
  // The reference reader requires the tensors to tile the data section exactly: sorted by
  // offset, each starting where the previous one ended, the last ending at the end of the file.
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let end = 0;
  let prevName = '';
  for (const [b, e, name] of ranges) {
    if (b < end) fail(path, `tensors ${prevName} and ${name} overlap`, 'ERR_RG_BAD_OFFSETS', name);
    if (b > end) fail(path, `tensor ${name}: ${b - end} unused bytes before its data (data_offsets begin ${b}, previous tensor ends at ${end})`, 'ERR_RG_BAD_OFFSETS', name);
    end = e;
    prevName = name;
  }
  if (end !== dataSize) fail(path, `${dataSize - end} bytes after the last tensor are not described by the header`, 'ERR_RG_BAD_OFFSETS');
  return { path, size, dataOffset, tensors, metadata };
}
