/**
 * The layout of one sequence's state, per layer: the single TypeScript definition of how many
 * values each layer keeps. The config check (MAX_STATE_BYTES), the state file format, the
 * state-size report and the benchmarks all read it from here. native/model/state_layout.h is the
 * native definition (State allocation, check_config); test/state-layout-mirror.test.ts holds the
 * two against each other on random configs (through addon.stateLayout), and test/state.test.ts
 * checks a real state's byteLength and readData() length against these counts.
 *
 * Changing the state's element type means changing STATE_DTYPE / STATE_BYTES_PER_VALUE here and
 * the native allocation, and bumping STATE_FORMAT_VERSION (lib/state/format.ts).
 */

/** The two kinds of layer (temporal block) and so the two kinds of per-layer state. */
export type BlockType = 'recurrent' | 'attention';

/** Element type of every state tensor (and of a saved state's payload). */
export const STATE_DTYPE = 'F32';
export type StateDType = typeof STATE_DTYPE;
/** Bytes of one state value. */
export const STATE_BYTES_PER_VALUE = 4;

/**
 * The config fields the state layout depends on (a ModelConfig has them; declared here rather than
 * imported so the config can check its state size with this module without an import cycle).
 */
export interface StateLayoutConfig {
  readonly blockTypes: readonly BlockType[];
  /** L: RG-LRU width. */
  readonly lruWidth: number;
  /** K: Conv1D taps. */
  readonly convWidth: number;
  /** W: attention window (key/value slots per attention layer). */
  readonly window: number;
  readonly headDim: number;
}

/** One layer's share of the state. */
export interface StateLayerLayout {
  kind: BlockType;
  /** Number of state values (float32). */
  floats: number;
}

/** Values of a recurrent layer: RG-LRU hidden state [L] plus the last K-1 Conv1D inputs [K-1, L]. */
export function recurrentLayerFloats(c: Pick<StateLayoutConfig, 'lruWidth' | 'convWidth'>): number {
  return c.lruWidth + (c.convWidth - 1) * c.lruWidth;
}

/**
 * Values of an attention layer holding `slots` key/value positions: one key and one value head of
 * head_dim each (multi-query attention). The model's ring buffer has `window` slots.
 */
export function attentionLayerFloats(headDim: number, slots: number): number {
  return 2 * slots * headDim;
}

/** The state layout of a model, layer by layer in model order (also the saved payload's order). */
export function stateLayout(c: StateLayoutConfig): StateLayerLayout[] {
  return c.blockTypes.map((kind) => ({ kind, floats: kind === 'recurrent' ? recurrentLayerFloats(c) : attentionLayerFloats(c.headDim, c.window) }));
}

/** Values per block type, summed over the layers. */
export function stateFloatsByKind(c: StateLayoutConfig): Record<BlockType, number> {
  const out: Record<BlockType, number> = { recurrent: 0, attention: 0 };
  for (const l of stateLayout(c)) out[l.kind] += l.floats;
  return out;
}

/** Bytes of one sequence's state. */
export function stateBytes(c: StateLayoutConfig): number {
  const f = stateFloatsByKind(c);
  return STATE_BYTES_PER_VALUE * (f.recurrent + f.attention);
}
