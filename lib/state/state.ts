import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

import { call, DisposedError, InvalidArgumentError } from '../errors';
import type { NativeLayerState, NativeState } from '../native';
import '../dispose'; // Symbol.dispose on runtimes without it
import { encodeState, type StateModelIdentity } from './format';

export type LayerState = NativeLayerState;

/** Anything that owns states: the model that created them. */
export interface StateOwner extends StateModelIdentity {
  /** @internal Allocates a zeroed native state for this model. */
  createNativeState(): NativeState;
  /** @internal Registers the state so that disposing the owner disposes it too. */
  adopt?<T extends { dispose(): void }>(resource: T): T;
}

/** Options of state.serialize() and state.save(). */
export interface SerializeOptions {
  /** Any JSON value stored in the header with the state (e.g. the text or history it encodes). */
  metadata?: unknown;
}

/**
 * The fixed-size inference state of one sequence: RG-LRU hidden state and Conv1D tail per
 * recurrent layer, a window-sized key/value ring buffer per attention layer, and the position.
 * Its size never grows with the sequence.
 */
export class ModelState {
  /** @internal */
  native: NativeState | null;
  /** The model this state belongs to. */
  readonly owner: StateOwner;

  /** @internal Use model.createState(). */
  constructor(native: NativeState, owner: StateOwner) {
    this.native = native;
    this.owner = owner;
    owner.adopt?.(this);
  }

  /** @internal */
  handle(): NativeState {
    if (!this.native) throw new DisposedError('state');
    return this.native;
  }

  /** Number of tokens this state has consumed. */
  get position(): number {
    return this.handle().position;
  }

  /** Exact number of bytes of native memory the state holds. */
  get byteLength(): number {
    return this.handle().byteLength;
  }

  /** Copies of the per-layer state tensors (for inspection and tests). */
  get layers(): LayerState[] {
    return call(() => this.handle().layers());
  }

  /** An independent copy: continuing either one never affects the other. */
  clone(): ModelState {
    const copy = new ModelState(this.owner.createNativeState(), this.owner);
    call(() => copy.handle().copyFrom(this.handle()));
    return copy;
  }

  /** @internal Makes this state a copy of `other` (same model), e.g. to undo an aborted chat turn. */
  copyFrom(other: ModelState): void {
    if (other.owner !== this.owner) throw new InvalidArgumentError('the state belongs to a different model');
    call(() => this.handle().copyFrom(other.handle()));
  }

  /**
   * The state as a self-describing, checksummed byte array (format in lib/state/format.ts). Restore
   * it with model.deserializeState(); only the same model (architecture and weights) accepts it,
   * and the restored state continues bit-identically.
   */
  serialize(options: SerializeOptions = {}): Uint8Array {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
    const native = this.handle();
    const data = call(() => native.readData());
    return encodeState(this.owner, data, native.position, options.metadata);
  }

  /**
   * Writes serialize() to `file`. The write goes to a temporary file in the same folder that is
   * then renamed, so a crash never leaves a half-written state under the final name.
   */
  async save(file: string, options: SerializeOptions = {}): Promise<void> {
    if (typeof file !== 'string' || file.length === 0) throw new InvalidArgumentError('file must be a non-empty string');
    const bytes = this.serialize(options);
    const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await fs.promises.writeFile(tmp, bytes);
      await fs.promises.rename(tmp, file);
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * @internal Sets the position without touching the tensors, for benchmarks: a step costs the
   * same for any state values, so decode at position p can be timed without prefilling p tokens.
   * The result is not a state any real sequence reaches; never use it for text.
   */
  setPositionKeepingTensors(position: number): void {
    const native = this.handle();
    call(() => native.writeData(native.readData(), position));
  }

  /** @internal Restores tensors and position read from a saved state (checked by the caller). */
  restore(data: Float32Array, position: number): void {
    const native = this.handle();
    call(() => native.writeData(data, position));
  }

  /** Forgets everything: position 0, all tensors zero. */
  reset(): void {
    call(() => this.handle().reset());
  }

  /** True once dispose() was called. */
  get disposed(): boolean {
    return this.native === null;
  }

  /** Frees the native memory now (a finalizer would otherwise do it later). */
  dispose(): void {
    if (!this.native) return;
    call(() => this.native!.dispose());
    this.native = null;
  }

  /** dispose(), for `using state = model.createState()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** dispose(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }
}
