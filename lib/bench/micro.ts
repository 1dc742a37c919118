/**
 * Kernel microbenchmarks at the real 2B shapes, timed with tinybench around one native kernel
 * call (split over the threads exactly as the model splits it), reported against the machine's
 * measured limits: matrix-vector products are bandwidth-bound (compare GB/s with readGBs), the
 * prefill matmul compute-bound (compare GFLOP/s with the fp32 FMA peak).
 */
import { InvalidArgumentError } from '../errors';
import { addon, type KernelCaseSpec } from '../native';
import type { MachineLimits } from './machine';

export interface MicroResult {
  name: string;
  /** Mean seconds per call. */
  seconds: number;
  gbPerSecond: number;
  gflops: number;
  /** Achieved / limit: bandwidth for memory-bound cases, FMA peak for compute-bound ones. */
  fractionOfLimit: number | null;
  bound: 'memory' | 'compute' | 'latency';
}

interface MicroCase {
  name: string;
  spec: KernelCaseSpec;
  bound: MicroResult['bound'];
}

/** The 2B shapes of the issue: D = L = 2560, F = 7680, V = 256000, W = 2048, 10 heads of 256. */
export function microCases(quick: boolean): MicroCase[] {
  const cases: MicroCase[] = [];
  for (const dtype of ['BF16', 'Q8', 'Q4'] as const) {
    cases.push({ name: `matvec 7680x2560 ${dtype}`, spec: { kernel: 'matmul', dtype, rows: 7680, cols: 2560 }, bound: 'memory' });
    // Q8 / Q4 decode with precision 'fast' reads the stored integers with vpdpbusd (another loop).
    if (dtype !== 'BF16') cases.push({ name: `matvec 7680x2560 ${dtype} fast`, spec: { kernel: 'matmul', dtype, rows: 7680, cols: 2560, precision: 'fast' }, bound: 'memory' });
    if (!quick) cases.push({ name: `logits matvec 256000x2560 ${dtype}`, spec: { kernel: 'matmul', dtype, rows: 256000, cols: 2560 }, bound: 'memory' });
  }
  cases.push({ name: 'prefill matmul T=256 7680x2560 BF16', spec: { kernel: 'matmul', dtype: 'BF16', rows: 7680, cols: 2560, T: quick ? 32 : 256 }, bound: 'compute' });
  cases.push({ name: 'prefill matmul T=256 7680x2560 F32', spec: { kernel: 'matmul', dtype: 'F32', rows: 7680, cols: 2560, T: quick ? 32 : 256 }, bound: 'compute' });
  cases.push({ name: 'rg-lru decode step, 2560 channels', spec: { kernel: 'rglru', channels: 2560, T: 1 }, bound: 'latency' });
  cases.push({ name: 'rg-lru prefill T=256, 2560 channels', spec: { kernel: 'rglru', channels: 2560, T: 256 }, bound: 'latency' });
  cases.push({ name: 'attention decode, 2048-slot window, 10 heads x 256', spec: { kernel: 'attention', heads: 10, headDim: 256, window: 2048, T: 1 }, bound: 'latency' });
  return cases;
}

/**
 * tinybench, loaded only when the microbenchmarks run: it is a devDependency, so an installed
 * package without it still loads (and runs every other benchmark).
 */
async function loadTinybench(): Promise<typeof import('tinybench')> {
  try {
    return await import('tinybench');
  } catch {
    throw new InvalidArgumentError(
      "the kernel microbenchmarks need the 'tinybench' package, which is not installed: run `npm install --no-save tinybench` in this folder, or skip them with --no-micro",
      'ERR_RG_MISSING_DEPENDENCY',
    );
  }
}

export async function runMicro(limits: MachineLimits, options: { threads: number; quick?: boolean; simd?: string; log?: (s: string) => void }): Promise<MicroResult[]> {
  const { Bench } = await loadTinybench();
  const results: MicroResult[] = [];
  for (const c of microCases(options.quick ?? false)) {
    const kc = new addon.bench.KernelCase({ ...c.spec, threads: options.threads, simd: options.simd });
    try {
      const bench = new Bench({ time: options.quick ? 200 : 1000, iterations: 3, warmupTime: 50, warmupIterations: 1 });
      bench.add(c.name, () => kc.run());
      await bench.run();
      const task = bench.tasks[0]!;
      if (task.result?.error) throw task.result.error;
      const seconds = task.result!.mean / 1000;
      const gbPerSecond = kc.bytesPerRun / seconds / 1e9;
      const gflops = kc.flopsPerRun / seconds / 1e9;
      const limit = c.bound === 'memory' ? (options.threads > 1 ? limits.readGBs : limits.readGBs1) : options.threads > 1 ? limits.fmaGflops : limits.fmaGflops1;
      const fractionOfLimit = c.bound === 'latency' ? null : (c.bound === 'memory' ? gbPerSecond : gflops) / limit;
      results.push({ name: c.name, seconds, gbPerSecond, gflops, fractionOfLimit, bound: c.bound });
      options.log?.(`  ${c.name}: ${(seconds * 1e3).toFixed(3)} ms, ${gbPerSecond.toFixed(1)} GB/s, ${gflops.toFixed(1)} GFLOP/s${fractionOfLimit === null ? '' : `, ${(100 * fractionOfLimit).toFixed(0)} % of limit`}`);
    } finally {
      kc.dispose();
    }
  }
  return results;
}
