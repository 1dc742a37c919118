/**
 * Grammars for JSON numbers with bounds: the decimal text of every integer in a range (split by
 * digit count and then digit by digit, so the grammar stays linear in the number of digits), and
 * numbers whose integer bounds admit fractions. Unbounded values are capped at 16 integer and 16
 * fraction digits: a valid subset that keeps every value exactly representable in a double and
 * stops a model from writing digits forever.
 */
import { alt, charClass, cls, lit, repeat, seq, type Expr } from './ast';

/** Digits beyond which an unbounded number is not extended. */
export const MAX_DIGITS = 16;

const digit = (a: number, b: number): Expr => cls([[0x30 + a, 0x30 + b]]);
const ANY_DIGIT = digit(0, 9);

/** Equal-length decimal strings x <= y: every string of that length between them. */
function sameLength(x: string, y: string): Expr {
  if (x === y) return lit(x);
  if (x.length === 1) return digit(Number(x), Number(y));
  const x0 = Number(x[0]);
  const y0 = Number(y[0]);
  const xr = x.slice(1);
  const yr = y.slice(1);
  if (x0 === y0) return seq(lit(x[0]!), sameLength(xr, yr));
  const n = xr.length;
  const nines = '9'.repeat(n);
  const zeros = '0'.repeat(n);
  const options: Expr[] = [];
  // Whole blocks where the tail is free: widen the middle digit range to include x0 / y0 when their tails are full.
  const lowFull = xr === zeros;
  const highFull = yr === nines;
  const midLow = lowFull ? x0 : x0 + 1;
  const midHigh = highFull ? y0 : y0 - 1;
  if (!lowFull) options.push(seq(lit(x[0]!), sameLength(xr, nines)));
  if (midLow <= midHigh) options.push(seq(digit(midLow, midHigh), repeat(ANY_DIGIT, n, n)));
  if (!highFull) options.push(seq(lit(y[0]!), sameLength(zeros, yr)));
  return alt(...options);
}

/** Non-negative integers in [lo, hi] (hi may be Infinity: then up to MAX_DIGITS digits or lo's length). */
function nonNegative(lo: bigint, hi: bigint | undefined): Expr | undefined {
  if (hi !== undefined && lo > hi) return undefined;
  const options: Expr[] = [];
  const loLen = lo.toString().length;
  const maxLen = hi === undefined ? Math.max(loLen, MAX_DIGITS) : hi.toString().length;
  for (let len = loLen; len <= maxLen; len++) {
    const first = len === 1 ? 0n : 10n ** BigInt(len - 1);
    const last = 10n ** BigInt(len) - 1n;
    const a = lo > first ? lo : first;
    const b = hi !== undefined && hi < last ? hi : last;
    if (a > b) continue;
    // Past lo's length with no upper bound, every length up to the cap is free: one repetition.
    if (hi === undefined && len > loLen) {
      options.push(seq(digit(1, 9), repeat(ANY_DIGIT, len - 1, maxLen - 1)));
      break;
    }
    options.push(sameLength(a.toString(), b.toString()));
  }
  return options.length === 0 ? undefined : alt(...options);
}

/**
 * The canonical JSON text of every integer in [lo, hi] (either end may be undefined = unbounded),
 * or undefined when the range is empty.
 */
export function integerRange(lo: bigint | undefined, hi: bigint | undefined): Expr | undefined {
  const options: Expr[] = [];
  // Negative part: "-" then the magnitudes in [max(1, -hi), -lo].
  if (lo === undefined || lo < 0n) {
    const magLo = hi !== undefined && hi < 0n ? -hi : 1n;
    const neg = nonNegative(magLo, lo === undefined ? undefined : -lo);
    if (neg) options.push(seq(lit('-'), neg));
  }
  if (hi === undefined || hi >= 0n) {
    const pos = nonNegative(lo !== undefined && lo > 0n ? lo : 0n, hi);
    if (pos) options.push(pos);
  }
  return options.length === 0 ? undefined : alt(...options);
}

/** "." then 1 to MAX_DIGITS digits, the last non-zero (so the value is never a whole number). */
const FRACTION = seq(lit('.'), repeat(ANY_DIGIT, 0, MAX_DIGITS - 1), charClass('1-9'));

/**
 * Numbers x with lo <= x <= hi written without exponent, for integer bounds lo and hi (undefined =
 * unbounded) and exclusivity flags: whole numbers in the (adjusted) integer range, and k.f for
 * every unit interval (k, k + 1) inside the bounds.
 */
export function numberRange(lo: bigint | undefined, loExclusive: boolean, hi: bigint | undefined, hiExclusive: boolean): Expr | undefined {
  const options: Expr[] = [];
  const whole = integerRange(lo === undefined ? undefined : loExclusive ? lo + 1n : lo, hi === undefined ? undefined : hiExclusive ? hi - 1n : hi);
  if (whole) options.push(whole);
  // (k, k + 1) lies inside the bounds for k in [lo, hi - 1], whether or not the bounds are exclusive.
  const kHi = hi === undefined ? undefined : hi - 1n;
  // Positive intervals: "k.f" with k >= 0.
  const posLo = lo !== undefined && lo > 0n ? lo : 0n;
  const pos = nonNegative(posLo, kHi);
  if (pos) options.push(seq(pos, FRACTION));
  // Negative intervals (k, k + 1), k <= -1: written "-m.f" with m = -k - 1 in [max(-hi, 0), -lo - 1].
  if (lo === undefined || lo < 0n) {
    const mLo = hi !== undefined && -hi > 0n ? -hi : 0n;
    const neg = nonNegative(mLo, lo === undefined ? undefined : -lo - 1n);
    if (neg) options.push(seq(lit('-'), neg, FRACTION));
  }
  return options.length === 0 ? undefined : alt(...options);
}
