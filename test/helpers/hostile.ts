/**
 * Builds broken checkpoints from the tiny-f32 fixture in temp folders: the fixture's header and
 * data are read with a minimal parser of its own (independent of lib/checkpoint), modified, and
 * written back.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { CheckpointError } from '../../lib/errors';

export const FIXTURE = path.join(__dirname, '..', 'fixtures', 'tiny-f32');

export type Entry = { dtype: string; shape: number[]; data_offsets: [number, number] };
export type Header = Record<string, unknown>;

export interface Parsed {
  header: Header;
  data: Buffer;
}

let cached: Parsed | undefined;

/** The fixture's model.safetensors split into header object and data section. */
export function fixture(): Parsed {
  if (!cached) {
    const buf = fs.readFileSync(path.join(FIXTURE, 'model.safetensors'));
    const n = Number(buf.readBigUInt64LE(0));
    cached = { header: JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Header, data: buf.subarray(8 + n) };
  }
  return { header: structuredClone(cached.header), data: Buffer.from(cached.data) };
}

export function fixtureConfig(): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(path.join(FIXTURE, 'config.json'), 'utf8')) as Record<string, unknown>;
}

/** Tensor entries of a header sorted by data offset. */
export function entries(h: Header): Array<[string, Entry]> {
  return Object.entries(h)
    .filter(([k]) => k !== '__metadata__')
    .map(([k, v]) => [k, v as Entry] as [string, Entry])
    .sort((a, b) => a[1].data_offsets[0] - b[1].data_offsets[0]);
}

/** Header bytes + data as one safetensors file; `headerText` wins over `header` when given. */
export function safetensorsBytes(opts: { header?: Header; headerText?: string | Buffer; data: Buffer; headerLength?: bigint }): Buffer {
  const text = opts.headerText ?? JSON.stringify(opts.header);
  const hb = Buffer.isBuffer(text) ? text : Buffer.from(text, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.headerLength ?? BigInt(hb.length));
  return Buffer.concat([len, hb, opts.data]);
}

const made: string[] = [];

/** A fresh temp folder holding the fixture's config.json (or the given one). */
export function tempCheckpoint(config: unknown = fixtureConfig()): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-hostile-'));
  made.push(dir);
  fs.writeFileSync(path.join(dir, 'config.json'), typeof config === 'string' ? config : JSON.stringify(config));
  return dir;
}

/** A temp checkpoint whose model.safetensors is the given bytes. */
export function checkpointWith(file: Buffer, config?: unknown): string {
  const dir = tempCheckpoint(config);
  fs.writeFileSync(path.join(dir, 'model.safetensors'), file);
  return dir;
}

export function removeTempCheckpoints(): void {
  for (const d of made.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}

/** Runs fn and returns the CheckpointError it throws (fails the test for anything else). */
export function checkpointError(fn: () => unknown): CheckpointError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CheckpointError) return e;
    throw new Error(`expected a CheckpointError, got ${String(e)}${e instanceof Error ? `\n${e.stack}` : ''}`);
  }
  throw new Error('expected a CheckpointError, but nothing was thrown');
}

export async function checkpointErrorAsync(fn: () => Promise<unknown>): Promise<CheckpointError> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof CheckpointError) return e;
    throw new Error(`expected a CheckpointError, got ${String(e)}`);
  }
  throw new Error('expected a CheckpointError, but nothing was thrown');
}
