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
  /** AMX-BF16 (tdpbf16ps) and AMX-INT8 (tdpbusd) tile peaks; null unless the CPU reports AMX and the OS grants the tile state. */
  amxBf16Gflops: number | null;
  amxInt8Gops: number | null;
  /** The CPU the limits were measured on (brand string, family / model). */
  cpuModel: string;
  /** 'AMX: usable' or why not, naming the CPU. */
  amx: string;
}

/** The CPU's name as the report shows it. */
export function cpuModelName(): string {
  const c = addon.cpuInfo();
  return `${c.modelName || c.vendor || 'unknown CPU'} (${c.vendor ? `${c.vendor}, ` : ''}family ${c.family} model ${c.model})`;
}

/** Takes ~5-10 s: five passes over a 1 GiB buffer per configuration and ~1 s per compute peak. */
export function measureMachine(threads: number, bytes = 1 << 30): MachineLimits {
  const b = addon.bench;
  const cpu = addon.cpuInfo();
  const cpuModel = cpuModelName();
  const amxUsable = cpu.amx.usable;
  return {
    cpuModel,
    amx: amxUsable ? 'AMX: usable' : `AMX: not available on this CPU (${cpu.modelName || cpuModel}${cpu.amx.tile ? `: ${cpu.amx.reason ?? 'refused'}` : ''})`,
    amxBf16Gflops: amxUsable && cpu.amx.bf16 ? b.computePeak('amx-bf16', threads) / 1e9 : null,
    amxInt8Gops: amxUsable && cpu.amx.int8 ? b.computePeak('amx-int8', threads) / 1e9 : null,
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
