/**
 * Logit bias as OpenAI defines it: `{ [tokenId]: value }` with values in [-100, 100] added to the
 * token's logit before sampling. OpenAI describes -100 as a ban and +100 as exclusive selection;
 * a plain addition only approximates that (e.g. at a high temperature or after top-p), so the two
 * end values are made exact here: -100 removes the token (logit -Infinity) and +100 removes every
 * token that does not also have +100. Values in between are added as they are.
 */
import { InvalidArgumentError, TokenRangeError } from '../errors';

/** Token id (as an object key) to bias, as OpenAI's logit_bias. */
export type LogitBias = Readonly<Record<number, number>>;

/** The bias value that bans a token. */
export const LOGIT_BIAS_BAN = -100;
/** The bias value that forces a token (or a choice among the forced ones). */
export const LOGIT_BIAS_FORCE = 100;

/** A validated logit bias. */
export interface ResolvedLogitBias {
  ids: Int32Array;
  values: Float64Array;
  /** Whether some value is +100 (everything else is then removed). */
  forcing: boolean;
}

/** Validates `{ [tokenId]: value }`: ids integers in [0, vocabSize), values finite in [-100, 100]. */
export function resolveLogitBias(bias: unknown, vocabSize: number): ResolvedLogitBias | undefined {
  if (bias === undefined) return undefined;
  if (typeof bias !== 'object' || bias === null || Array.isArray(bias) || bias instanceof Map)
    throw new InvalidArgumentError('logitBias must be an object mapping token ids to numbers, e.g. { "1234": -100 }');
  const entries = Object.entries(bias as Record<string, unknown>);
  const ids = new Int32Array(entries.length);
  const values = new Float64Array(entries.length);
  let forcing = false;
  entries.forEach(([key, value], i) => {
    if (!/^(0|[1-9]\d*)$/.test(key)) throw new InvalidArgumentError(`logitBias key ${JSON.stringify(key)} is not a token id (a non-negative integer)`);
    const id = Number(key);
    if (id >= vocabSize) throw new TokenRangeError(`logitBias token id ${id} is outside the vocabulary [0, ${vocabSize})`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value < LOGIT_BIAS_BAN || value > LOGIT_BIAS_FORCE)
      throw new InvalidArgumentError(`logitBias["${key}"] must be a finite number in [-100, 100], got ${String(value)}`, 'ERR_RG_OUT_OF_RANGE');
    ids[i] = id;
    values[i] = value;
    if (value === LOGIT_BIAS_FORCE) forcing = true;
  });
  return entries.length === 0 ? undefined : { ids, values, forcing };
}

/** The biased copy of `logits` (the input is not changed). */
export function applyLogitBias(logits: Float32Array, bias: ResolvedLogitBias): Float32Array {
  const out = bias.forcing ? new Float32Array(logits.length).fill(-Infinity) : new Float32Array(logits);
  for (let i = 0; i < bias.ids.length; i++) {
    const id = bias.ids[i]!;
    const v = bias.values[i]!;
    if (bias.forcing) {
      if (v === LOGIT_BIAS_FORCE) out[id] = logits[id]!; // the forced tokens compete on their own logits
    } else {
      out[id] = v === LOGIT_BIAS_BAN ? -Infinity : logits[id]! + v;
    }
  }
  return out;
}
