/**
 * A small seedable PRNG (xoshiro128**, seeded through splitmix32) so that sampling with the
 * same seed and options gives the same tokens on every run and platform. Math.random cannot be
 * seeded; crypto is only used to pick a seed when none is given.
 */
import { randomBytes } from 'crypto';

/** A source of uniform random numbers. */
export interface Rng {
  /** A uniform float in [0, 1) with 53 random bits. */
  next(): number;
}

/** splitmix32: spreads one 32-bit word into well-mixed state words. */
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128** by Blackman and Vigna: 128-bit state, period 2^128 - 1. */
export class Xoshiro128 implements Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** `seed` is any safe integer (its low 53 bits are used). */
  constructor(seed: number) {
    // Mix both halves of the seed so seeds that differ only above bit 32 give different streams.
    const lo = seed >>> 0;
    const hi = Math.floor(Math.abs(seed) / 0x100000000) >>> 0;
    const mix = splitmix32(lo ^ Math.imul(hi, 0x27d4eb2d) ^ (seed < 0 ? 0x5bd1e995 : 0));
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  /** A generator with an explicit 128-bit state (for checking against the reference outputs). */
  static fromState(a: number, b: number, c: number, d: number): Xoshiro128 {
    const rng = new Xoshiro128(0);
    rng.a = a >>> 0;
    rng.b = b >>> 0;
    rng.c = c >>> 0;
    rng.d = d >>> 0;
    return rng;
  }

  /** The next 32 random bits as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  next(): number {
    // 21 high bits of one draw and 32 of another make a 53-bit mantissa.
    const hi = this.nextUint32() >>> 11;
    const lo = this.nextUint32();
    return (hi * 0x100000000 + lo) / 0x20000000000000;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A seed from the OS's entropy source, for runs without an explicit seed. */
export function randomSeed(): number {
  return randomBytes(4).readUInt32LE(0);
}
