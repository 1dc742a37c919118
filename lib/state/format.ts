/**
 * The on-disk / in-memory format of a saved ModelState. Self-describing and versioned, so a file
 * can be inspected without the model, and a state is only ever restored into the model that
 * computed it. Every byte is covered by a checksum: a truncated, corrupted, foreign or future file
 * is refused with a StateFormatError whose `code` says which, never read as garbage.
 *
 * Layout of format version 1 (all integers little-endian):
 *
 *   offset  size  field
 *        0     8  magic "RGSTATE\0"
 *        8     4  u32 format version (1)
 *       12     4  u32 H: header length in bytes
 *       16     8  u64 P: payload length in bytes
 *       24    32  SHA-256 of the header bytes
 *       56     H  header: UTF-8 JSON (StateHeader: model fingerprint, position, dtype, layer
 *                 layout, SHA-256 of the payload, optional user metadata)
 *   56 + H   0-3  zero padding to a multiple of 4 (keeps the payload float-aligned)
 *        …     P  payload: the state tensors as float32, layer after layer in model order
 *                 (recurrent: rg_lru_state [L], conv1d_state [K-1, L]; attention: keys [W, hd],
 *                 values [W, hd], ring-buffer slot = position mod W)
 */
import { createHash } from 'crypto';

import type { ModelConfig } from '../checkpoint/config';
import type { ModelFingerprint } from '../checkpoint/fingerprint';
import { StateFormatError } from '../errors';
import { STATE_BYTES_PER_VALUE, STATE_DTYPE, stateLayout, type StateDType, type StateLayerLayout } from './layout';

export type { StateLayerLayout } from './layout';

export const STATE_MAGIC = Uint8Array.from([0x52, 0x47, 0x53, 0x54, 0x41, 0x54, 0x45, 0x00]); // "RGSTATE\0"
export const STATE_FORMAT_VERSION = 1;
/** Bytes before the header JSON. */
export const STATE_PRELUDE_BYTES = 56;

/** The `code`s a StateFormatError can carry, one per kind of problem. */
export const StateFormatCode = {
  /** The bytes do not start with the state magic: not a saved state at all. */
  NOT_A_STATE: 'ERR_RG_STATE_MAGIC',
  /** Written by a newer (or unknown) format version. */
  VERSION: 'ERR_RG_STATE_VERSION',
  /** Fewer bytes than the prelude declares. */
  TRUNCATED: 'ERR_RG_STATE_TRUNCATED',
  /** More bytes than the prelude declares. */
  TRAILING_DATA: 'ERR_RG_STATE_TRAILING_DATA',
  /** The header or payload checksum does not match: the bytes were altered. */
  CHECKSUM: 'ERR_RG_STATE_CHECKSUM',
  /** The header passed its checksum but is not a valid version-1 header. */
  BAD_HEADER: 'ERR_RG_STATE_HEADER',
  /** The state was computed by a model of another architecture. */
  MODEL_MISMATCH: 'ERR_RG_STATE_MODEL_MISMATCH',
  /** Same architecture, different weights (another checkpoint or a fine-tune). */
  WEIGHTS_MISMATCH: 'ERR_RG_STATE_WEIGHTS_MISMATCH',
  /** A chat session was restored from a state saved without chat history. */
  NOT_A_CHAT: 'ERR_RG_STATE_NOT_CHAT',
} as const;
export type StateFormatCode = (typeof StateFormatCode)[keyof typeof StateFormatCode];

/** The architecture summary stored with a state, for readable mismatch messages. */
export interface StateModelSummary {
  vocabSize: number;
  width: number;
  lruWidth: number;
  numHeads: number;
  headDim: number;
  numLayers: number;
  window: number;
  convWidth: number;
}

/** The JSON header of a saved state. */
export interface StateHeader {
  format: 'recurrentgemma-state';
  model: { fingerprint: ModelFingerprint; summary: StateModelSummary };
  /** Tokens the state had consumed. */
  position: number;
  /** Element type of the payload. */
  dtype: StateDType;
  layers: StateLayerLayout[];
  /** Hex SHA-256 of the payload bytes. */
  payloadSha256: string;
  /** Caller data saved with the state (e.g. a chat history); any JSON value. */
  metadata?: unknown;
}

/** What a model contributes to a saved state and checks on restore. */
export interface StateModelIdentity {
  config: ModelConfig;
  fingerprint: ModelFingerprint;
}

function summarize(c: ModelConfig): StateModelSummary {
  return { vocabSize: c.vocabSize, width: c.width, lruWidth: c.lruWidth, numHeads: c.numHeads, headDim: c.headDim, numLayers: c.numLayers, window: c.window, convWidth: c.convWidth };
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function fail(code: StateFormatCode, message: string): never {
  throw new StateFormatError(`cannot restore state: ${message}`, code);
}

/** Serializes a state's tensors and position (see the layout at the top of this file). */
export function encodeState(model: StateModelIdentity, data: Float32Array, position: number, metadata?: unknown): Uint8Array {
  const layers = stateLayout(model.config);
  const floats = layers.reduce((s, l) => s + l.floats, 0);
  if (data.length !== floats) throw new StateFormatError(`state has ${data.length} values but the model's layout needs ${floats}`, StateFormatCode.BAD_HEADER);
  const payload = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (metadata !== undefined) {
    let text: string | undefined;
    try {
      text = JSON.stringify(metadata);
    } catch (e) {
      throw new StateFormatError(`metadata is not JSON-serializable: ${(e as Error).message}`, StateFormatCode.BAD_HEADER);
    }
    if (text === undefined) throw new StateFormatError('metadata is not JSON-serializable', StateFormatCode.BAD_HEADER);
  }
  const header: StateHeader = {
    format: 'recurrentgemma-state',
    model: { fingerprint: { config: model.fingerprint.config, weights: model.fingerprint.weights }, summary: summarize(model.config) },
    position,
    dtype: STATE_DTYPE,
    layers,
    payloadSha256: sha256(payload),
    ...(metadata === undefined ? {} : { metadata }),
  };
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const H = headerBytes.length;
  const payloadStart = STATE_PRELUDE_BYTES + H + pad4(H);
  const out = new Uint8Array(payloadStart + payload.length);
  const view = new DataView(out.buffer);
  out.set(STATE_MAGIC, 0);
  view.setUint32(8, STATE_FORMAT_VERSION, true);
  view.setUint32(12, H, true);
  view.setBigUint64(16, BigInt(payload.length), true);
  out.set(createHash('sha256').update(headerBytes).digest(), 24);
  out.set(headerBytes, STATE_PRELUDE_BYTES);
  // The payload is written as little-endian float32; every platform Node runs this addon on is LE.
  out.set(payload, payloadStart);
  return out;
}

/** A parsed, checksum-verified state file. */
export interface DecodedState {
  header: StateHeader;
  /** The state tensors (a copy, safe to keep). */
  data: Float32Array;
}

function checkHeader(raw: unknown): StateHeader {
  const bad = (what: string): never => fail(StateFormatCode.BAD_HEADER, `header ${what}`);
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) bad('is not a JSON object');
  const h = raw as Record<string, unknown>;
  if (h.format !== 'recurrentgemma-state') bad(`has format ${JSON.stringify(h.format)}, expected "recurrentgemma-state"`);
  if (h.dtype !== STATE_DTYPE) bad(`has dtype ${JSON.stringify(h.dtype)}; this version reads ${STATE_DTYPE} only`);
  if (typeof h.position !== 'number' || !Number.isSafeInteger(h.position) || h.position < 0) bad(`has an invalid position ${JSON.stringify(h.position)}`);
  if (typeof h.payloadSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(h.payloadSha256)) bad('has no valid payloadSha256');
  const m = h.model as Record<string, unknown> | undefined;
  const fp = m?.fingerprint as Record<string, unknown> | undefined;
  if (typeof fp?.config !== 'string' || typeof fp.weights !== 'string') bad('has no model fingerprint');
  if (typeof m?.summary !== 'object' || m.summary === null) bad('has no model summary');
  if (!Array.isArray(h.layers) || !h.layers.every((l: unknown) => {
    const o = l as Record<string, unknown> | null;
    return typeof o === 'object' && o !== null && (o.kind === 'recurrent' || o.kind === 'attention') && Number.isSafeInteger(o.floats) && (o.floats as number) >= 0;
  })) bad('has an invalid layer layout');
  return raw as StateHeader;
}

/**
 * Reads the prelude and header of a serialized state and verifies every checksum. Does not need
 * the model; checkStateCompatible() then decides whether a given model may load it.
 */
export function decodeState(bytes: Uint8Array): DecodedState {
  if (!(bytes instanceof Uint8Array)) throw new StateFormatError('cannot restore state: expected a Uint8Array (or Buffer)', StateFormatCode.NOT_A_STATE);
  const magicOk = bytes.length >= STATE_MAGIC.length && STATE_MAGIC.every((b, i) => bytes[i] === b);
  if (!magicOk) {
    if (bytes.length < STATE_MAGIC.length && STATE_MAGIC.subarray(0, bytes.length).every((b, i) => bytes[i] === b))
      fail(StateFormatCode.TRUNCATED, `only ${bytes.length} bytes, shorter than the ${STATE_PRELUDE_BYTES}-byte prelude`);
    fail(StateFormatCode.NOT_A_STATE, 'the data does not start with the "RGSTATE" magic; it is not a saved recurrentgemma state');
  }
  if (bytes.length < 12) fail(StateFormatCode.TRUNCATED, `only ${bytes.length} bytes, shorter than the ${STATE_PRELUDE_BYTES}-byte prelude`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== STATE_FORMAT_VERSION)
    fail(StateFormatCode.VERSION, `format version ${version} is not supported (this package reads version ${STATE_FORMAT_VERSION}${version > STATE_FORMAT_VERSION ? '; it was written by a newer recurrentgemma' : ''})`);
  if (bytes.length < STATE_PRELUDE_BYTES) fail(StateFormatCode.TRUNCATED, `only ${bytes.length} bytes, shorter than the ${STATE_PRELUDE_BYTES}-byte prelude`);
  const H = view.getUint32(12, true);
  const P64 = view.getBigUint64(16, true);
  if (P64 > BigInt(Number.MAX_SAFE_INTEGER)) fail(StateFormatCode.BAD_HEADER, `declared payload length ${P64} is impossible`);
  const P = Number(P64);
  const payloadStart = STATE_PRELUDE_BYTES + H + pad4(H);
  const total = payloadStart + P;
  if (bytes.length < total) fail(StateFormatCode.TRUNCATED, `${bytes.length} bytes, but the prelude declares ${total} (header ${H}, payload ${P}); the file is cut short`);
  if (bytes.length > total) fail(StateFormatCode.TRAILING_DATA, `${bytes.length} bytes, but the prelude declares ${total}; ${bytes.length - total} unexpected bytes follow the payload`);
  const headerBytes = bytes.subarray(STATE_PRELUDE_BYTES, STATE_PRELUDE_BYTES + H);
  const want = bytes.subarray(24, 56);
  const got = createHash('sha256').update(headerBytes).digest();
  if (!got.equals(want)) fail(StateFormatCode.CHECKSUM, 'header checksum mismatch; the data is corrupted');
  for (let i = STATE_PRELUDE_BYTES + H; i < payloadStart; i++) if (bytes[i] !== 0) fail(StateFormatCode.CHECKSUM, 'non-zero padding; the data is corrupted');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(headerBytes.buffer, headerBytes.byteOffset, headerBytes.byteLength).toString('utf8'));
  } catch (e) {
    fail(StateFormatCode.BAD_HEADER, `header is not valid JSON (${(e as Error).message})`);
  }
  const header = checkHeader(parsed);
  const floats = header.layers.reduce((s, l) => s + l.floats, 0);
  if (floats * STATE_BYTES_PER_VALUE !== P) fail(StateFormatCode.BAD_HEADER, `header layout has ${floats} floats but the payload is ${P} bytes`);
  const payload = bytes.subarray(payloadStart, total);
  if (sha256(payload) !== header.payloadSha256) fail(StateFormatCode.CHECKSUM, 'payload checksum mismatch; the state tensors are corrupted');
  const data = new Float32Array(floats);
  new Uint8Array(data.buffer).set(payload);
  return { header, data };
}

/** The verified header of a serialized state (position, model, metadata), without a model. */
export function inspectState(bytes: Uint8Array): StateHeader {
  return decodeState(bytes).header;
}

function describe(s: StateModelSummary): string {
  return `width ${s.width}, lru_width ${s.lruWidth}, ${s.numLayers} layers, ${s.numHeads} heads x ${s.headDim}, window ${s.window}, vocab ${s.vocabSize}`;
}

/** Throws unless the state in `header` was computed by `model` (same architecture and weights). */
export function checkStateCompatible(header: StateHeader, model: StateModelIdentity): void {
  const fp = header.model.fingerprint;
  if (fp.config !== model.fingerprint.config) {
    fail(StateFormatCode.MODEL_MISMATCH, `it was saved from a different model architecture (${describe(header.model.summary)}) than this one (${describe(summarize(model.config))}); config fingerprint ${fp.config.slice(0, 12)} != ${model.fingerprint.config.slice(0, 12)}`);
  }
  if (fp.weights !== model.fingerprint.weights)
    fail(StateFormatCode.WEIGHTS_MISMATCH, `it was saved from a model with the same architecture but different weights (weights fingerprint ${fp.weights.slice(0, 12)} != ${model.fingerprint.weights.slice(0, 12)})`);
  const want = stateLayout(model.config);
  const same = want.length === header.layers.length && want.every((l, i) => l.kind === header.layers[i]!.kind && l.floats === header.layers[i]!.floats);
  if (!same) fail(StateFormatCode.MODEL_MISMATCH, "its layer layout does not match this model's state layout");
}
