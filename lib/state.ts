import { DisposedError, fromNativeError } from './errors';
import type { NativeLayerState, NativeState } from './native';

export type LayerState = NativeLayerState;

/** Anything that owns states: the model that created them. */
export interface StateOwner {
  /** @internal Allocates a zeroed native state for this model. */
  createNativeState(): NativeState;
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
}

/** Runs a native call, turning its coded errors into the package's error classes. */
export function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw fromNativeError(e);
  }
}
