/** This machine's ceilings, measured in the same run as the benchmarks compared against them. */
import { addon } from '../native';

export interface MachineLimits {
  threads: number;
  /** Sustained read bandwidth with `threads` threads, 2 MiB pages (GB/s, 1e9). */
  readGBs: number;
  /** The same with one thread (single-threaded kernel microbenchmarks compare with this). */
  readGBs1: number;
  /** The same as readGBs on 4 KiB pages: what memory-mapped weights see. */
  readGBs4k: number;
  /** fp32 FMA peak with `threads` threads (GFLOP/s). */
  fmaGflops: number;
  fmaGflops1: number;
  /** bf16 pair-dot (vdpbf16ps) and int8 quad-dot (vpdpbusd) peaks, 0 when unsupported. */
  bf16Gflops: number;
  int8Gops: number;
}

/** Takes ~5-10 s: five passes over a 1 GiB buffer per configuration and ~1 s per compute peak. */
export function measureMachine(threads: number, bytes = 1 << 30): MachineLimits {
  const b = addon.bench;
  return {
    threads,
    readGBs: b.readBandwidth(bytes, threads, true).gbPerSecond,
    readGBs1: b.readBandwidth(bytes, 1, true).gbPerSecond,
    readGBs4k: b.readBandwidth(bytes, threads, false).gbPerSecond,
    fmaGflops: b.computePeak('fma32', threads) / 1e9,
    fmaGflops1: b.computePeak('fma32', 1) / 1e9,
    bf16Gflops: b.computePeak('bf16', threads) / 1e9,
    int8Gops: b.computePeak('int8', threads) / 1e9,
  };
}
