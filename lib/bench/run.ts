/**
 * The benchmark suite: machine limits, kernel microbenchmarks, end-to-end runs per weight format,
 * huge pages and thread-count comparisons, Griffin vs global attention over growing positions,
 * and the quality cost of quantization — with every ratio taken against limits measured in the
 * same run.
 */
import * as fs from 'fs';
import * as path from 'path';

import { expectedTensors, openCheckpoint, type WeightFormat } from '../checkpoint';
import { InvalidArgumentError } from '../errors';
import { addon } from '../native';
import { DEFAULT_MODEL_DIR, type Precision } from '../model';
import { runE2E, runWindowComparison, type DecodePoint, type E2EResult, type PrefillPoint, type WindowPoint } from './e2e';
import { measureMachine, type MachineLimits } from './machine';
import { runMicro, type MicroResult } from './micro';
import { linePlot } from './plot';
import { formatStateSizeReport, stateSizeReport, type StateSizeReport } from '../state';
import { demoEvaluationTokens, measureQuality, type QualityResult } from './quality';

export interface BenchOptions {
  /** Checkpoint for the end-to-end runs (e.g. a synthetic 2B from `recurrentgemma synth`). */
  model?: string;
  formats: WeightFormat[];
  /** Precisions to run each format in (fast = bf16 / int8 dot products for prefill and batches). */
  precisions: Precision[];
  threads: number;
  prefill: number[];
  positions: number[];
  batches: number[];
  decodeSteps: number;
  /** Where the SVG plots go. */
  outDir: string;
  micro: boolean;
  quality: boolean;
  window: boolean;
  /** Also time decode with 2 MiB-page weight copies and with 1 thread. */
  compare: boolean;
  quick: boolean;
  simd?: 'auto' | 'scalar' | 'avx2' | 'avx512';
  log?: (s: string) => void;
}

export interface WeightsResult extends E2EResult {
  /** Decode tokens/s the measured read bandwidth allows: readGBs / bytes per step. */
  bandwidthCeilingTokensPerSecond: number;
  /** Decode at position 0, batch 1, as a fraction of that ceiling. */
  fractionOfBandwidth: number;
  /** Prefill GFLOP/s at the longest length, as a fraction of the peak of the instruction the path uses (prefillPeak). */
  prefillGflops: number;
  prefillFractionOfFma: number;
  prefillPeak: string;
}

/**
 * The multiply-add instruction a (weights, precision) path runs its prefill matmuls on, and its
 * measured peak: exact widens every format to float32 (fp32 FMA); fast runs BF16 weights on
 * vdpbf16ps and Q8 / Q4 on vpdpbusd (no AMX kernel level exists yet, so the AMX peaks are shown as
 * machine limits only).
 */
export function pathPeak(m: MachineLimits, format: WeightFormat, precision: Precision): { name: string; value: number } {
  if (precision === 'fast' && format === 'stored' && m.bf16Gflops > 0) return { name: 'bf16-dot (vdpbf16ps)', value: m.bf16Gflops };
  if (precision === 'fast' && format !== 'stored' && m.int8Gops > 0) return { name: 'int8-dot (vpdpbusd)', value: m.int8Gops };
  return { name: 'fp32 FMA', value: m.fmaGflops };
}

function amxText(m: MachineLimits): string {
  if (m.amxBf16Gflops === null && m.amxInt8Gops === null) return m.amx;
  return `AMX-BF16 ${m.amxBf16Gflops?.toFixed(0) ?? '—'} GFLOP/s, AMX-INT8 ${m.amxInt8Gops?.toFixed(0) ?? '—'} GOP/s`;
}

export interface Target {
  name: string;
  target: string;
  measured: string;
  met: boolean;
}

export interface BenchReport {
  date: string;
  command: string;
  machine: MachineLimits & { cpu: string; simd: string };
  model: { dir: string; params: number; nonEmbeddingParams: number; weightBytes: number; flopsPerToken: number } | null;
  micro: MicroResult[];
  prefill: PrefillPoint[];
  decode: DecodePoint[];
  weights: WeightsResult[];
  hugePages: { format: WeightFormat; mappedTokensPerSecond: number; hugePageTokensPerSecond: number } | null;
  threads: { threads: number; tokensPerSecond: number }[];
  window: WindowPoint[];
  /** Memory per sequence: the fixed state vs a same-shape transformer's KV cache, at the decode positions. */
  stateSize: StateSizeReport | null;
  quality: (QualityResult & { model: string })[];
  targets: Target[];
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}

export async function runBench(o: BenchOptions, command = ''): Promise<BenchReport> {
  const log = o.log ?? (() => undefined);
  const cpu = addon.cpuInfo();
  log(`machine limits (${o.threads} threads)...`);
  const limits = measureMachine(o.threads);
  log(`  ${limits.cpuModel}: read ${limits.readGBs.toFixed(1)} GB/s (${limits.readGBs1.toFixed(1)} with 1 thread, ${limits.readGBs4k.toFixed(1)} on 4 KiB pages); fp32 FMA ${limits.fmaGflops.toFixed(0)} GFLOP/s, bf16 dot ${limits.bf16Gflops.toFixed(0)}, int8 dot ${limits.int8Gops.toFixed(0)} GOP/s; ${amxText(limits)}`);
  const report: BenchReport = {
    date: new Date().toISOString(),
    command,
    machine: { ...limits, cpu: `${limits.cpuModel}, ${cpu.physicalCores} cores, ${Object.entries(cpu.features).filter(([, v]) => v).map(([k]) => k).join(' ')}`, simd: cpu.selected },
    model: null,
    micro: [],
    prefill: [],
    decode: [],
    weights: [],
    hugePages: null,
    threads: [],
    window: [],
    stateSize: null,
    quality: [],
    targets: [],
  };

  if (o.micro) {
    log('kernel microbenchmarks (2B shapes)...');
    report.micro = await runMicro(limits, { threads: o.threads, quick: o.quick, simd: o.simd, log });
  }

  if (o.model) {
    const ck = openCheckpoint(path.resolve(o.model));
    const shapes = [...expectedTensors(ck.config).values()];
    const params = shapes.reduce((s, sh) => s + sh.reduce((a, b) => a * b, 1), 0);
    const embed = ck.config.vocabSize * ck.config.width;
    const weightBytes = ck.tensors.reduce((s, t) => s + t.nbytes, 0);
    // Prefill skips the logits of all but the last row: ~2 flops per non-embedding weight.
    const flopsPerToken = 2 * (params - embed);
    report.model = { dir: ck.dir, params, nonEmbeddingParams: params - embed, weightBytes, flopsPerToken };
    report.stateSize = stateSizeReport(ck.config, [...new Set([...o.positions, 2048, 8192, 32768])].filter((p) => p > 0).sort((a, b) => a - b));
    log(`model ${ck.dir}: ${(params / 1e9).toFixed(2)} B params, ${(weightBytes / 1e9).toFixed(2)} GB stored as ${ck.dtype}`);
    for (const format of o.formats) {
      for (const precision of o.precisions) {
        log(`end to end, weights ${format}, precision ${precision}...`);
        const r = await runE2E(ck.dir, { format, precision, threads: o.threads, simd: o.simd, prefillLengths: o.prefill, positions: o.positions, batches: o.batches, decodeSteps: o.decodeSteps, log });
        if (r.precision !== precision) {
          log(`  (no fast kernels on this CPU: ${precision} ran as ${r.precision}, skipped)`);
          continue;
        }
        const ceiling = (limits.readGBs * 1e9) / r.streamBytes;
        const d0 = r.decode.find((d) => d.position === 0) ?? r.decode[0];
        const longest = r.prefill[r.prefill.length - 1];
        const prefillGflops = longest ? (longest.tokensPerSecond * flopsPerToken) / 1e9 : 0;
        // Prefill against the peak of the instruction this path really runs on.
        const peak = pathPeak(limits, format, r.precision);
        report.weights.push({ ...r, bandwidthCeilingTokensPerSecond: ceiling, fractionOfBandwidth: d0 ? d0.tokensPerSecond / ceiling : 0, prefillGflops, prefillFractionOfFma: prefillGflops / peak.value, prefillPeak: peak.name });
      }
    }
    const first = report.weights[0];
    if (first) {
      report.prefill = first.prefill;
      report.decode = [...first.decode, ...first.batch];
    }
    if (o.compare && first) {
      const steps = Math.max(2, Math.ceil(o.decodeSteps / 2));
      const quick = { prefillLengths: [], positions: [0], batches: [], decodeSteps: steps, simd: o.simd, format: first.format };
      log(`decode on 2 MiB-page copies vs memory-mapped weights (${first.format})...`);
      const huge = await runE2E(ck.dir, { ...quick, threads: o.threads, hugePages: true, log });
      const mapped = await runE2E(ck.dir, { ...quick, threads: o.threads, hugePages: false, log });
      report.hugePages = { format: first.format, mappedTokensPerSecond: mapped.decode[0]!.tokensPerSecond, hugePageTokensPerSecond: huge.decode[0]!.tokensPerSecond };
      for (const t of [...new Set([1, o.threads])]) {
        log(`decode with ${t} thread(s)...`);
        const r = await runE2E(ck.dir, { ...quick, threads: t, log });
        report.threads.push({ threads: t, tokensPerSecond: r.decode[0]!.tokensPerSecond });
      }
    }
    if (o.window && o.positions.length > 1) {
      log('Griffin (local attention) vs global attention over growing positions...');
      report.window = await runWindowComparison(ck.dir, { threads: o.threads, format: o.formats[0]!, simd: o.simd, positions: o.positions, decodeSteps: o.decodeSteps, log });
    }
  }

  if (o.quality) {
    log('quantization quality (demo model and tiny-f32 fixture, against the unquantized path)...');
    const fixture = path.join(DEFAULT_MODEL_DIR, '..', '..', 'test', 'fixtures', 'tiny-f32');
    const demoTokens = demoEvaluationTokens(DEFAULT_MODEL_DIR);
    for (const format of ['int8', 'q4'] as const) {
      const q = await measureQuality(DEFAULT_MODEL_DIR, format, demoTokens, { threads: o.threads });
      report.quality.push({ model: 'tiny-python (bf16)', ...q });
      if (fs.existsSync(fixture)) {
        const ids = demoTokens.slice(0, 64).map((t) => t % 256);
        report.quality.push({ model: 'tiny-f32 fixture', ...(await measureQuality(fixture, format, ids, { threads: o.threads })) });
      }
    }
    for (const q of report.quality)
      log(`  ${q.model} ${q.format}: top-1 ${pct(q.top1Agreement)}, KL ${q.klMean.toExponential(2)} (max ${q.klMax.toExponential(2)}), perplexity ${q.perplexityReference.toFixed(3)} -> ${q.perplexity.toFixed(3)}`);
  }

  report.targets = targets(report);
  if (report.window.length > 0 || report.weights.length > 0) writePlots(report, o.outDir);
  return report;
}

function targets(r: BenchReport): Target[] {
  const out: Target[] = [];
  const want: Record<string, number> = { stored: 0.85, int8: 0.85, q4: 0.8 };
  for (const w of r.weights) {
    out.push({ name: `decode ${w.format} (${w.precision}) vs bandwidth ceiling`, target: `>= ${pct(want[w.format]!)}`, measured: `${pct(w.fractionOfBandwidth)} (${w.decode[0]?.tokensPerSecond.toFixed(2)} of ${w.bandwidthCeilingTokensPerSecond.toFixed(2)} tok/s)`, met: w.fractionOfBandwidth >= want[w.format]! });
  }
  const storedFast = r.weights.find((w) => w.format === 'stored' && w.precision === 'fast');
  const stored = r.weights.find((w) => w.format === 'stored' && w.precision === 'exact') ?? r.weights[0];
  // Prefill 512 of every path against the peak of the instruction it uses.
  for (const w of r.weights) {
    const p512 = w.prefill.find((p) => p.tokens === 512);
    if (!p512 || !r.model) continue;
    const peak = pathPeak(r.machine, w.format, w.precision);
    const g = (p512.tokensPerSecond * r.model.flopsPerToken) / 1e9;
    out.push({ name: `prefill 512 ${w.format} (${w.precision}) vs ${peak.name} peak`, target: '>= 70 %', measured: `${pct(g / peak.value)} (${g.toFixed(1)} GFLOP/s, ${p512.tokensPerSecond.toFixed(1)} tok/s)`, met: g / peak.value >= 0.7 });
  }
  if (stored && r.model) {
    const d0 = stored.decode.find((d) => d.position === 0);
    const dMax = [...stored.decode].sort((a, b) => b.position - a.position)[0];
    if (d0 && dMax && dMax.position > 0) {
      const ratio = dMax.tokensPerSecond / d0.tokensPerSecond;
      out.push({ name: `decode @${dMax.position} vs @0`, target: 'within 5 %', measured: `${pct(ratio)}`, met: Math.abs(1 - ratio) <= 0.05 });
      const growth = (dMax.rssBytes - d0.rssBytes) / d0.rssBytes;
      out.push({ name: `RSS growth 0 -> ${dMax.position}`, target: '< 1 %', measured: `${pct(growth)}`, met: growth < 0.01 });
    }
    for (const w of [stored, storedFast]) {
      const b1 = w?.batch.find((b) => b.batch === 1);
      for (const [n, want] of [[8, 5], [16, 12], [64, 40]] as const) {
        const bn = w?.batch.find((b) => b.batch === n);
        if (w && b1 && bn) out.push({ name: `batch-${n} decode total vs batch 1 (${w.precision})`, target: `>= ${want}x`, measured: `${(bn.tokensPerSecond / b1.tokensPerSecond).toFixed(2)}x`, met: bn.tokensPerSecond / b1.tokensPerSecond >= want });
      }
    }
  }
  for (const q of r.quality.filter((x) => x.format === 'int8'))
    out.push({ name: `int8 quality, ${q.model}`, target: 'top-1 >= 95 %, KL < 0.01', measured: `${pct(q.top1Agreement)}, ${q.klMean.toExponential(2)}`, met: q.top1Agreement >= 0.95 && q.klMean < 0.01 });
  return out;
}

function writePlots(r: BenchReport, outDir: string): void {
  fs.mkdirSync(outDir, { recursive: true });
  if (r.window.length > 0) {
    fs.writeFileSync(path.join(outDir, 'decode-vs-position.svg'), linePlot({
      title: 'Decode throughput vs position (same kernels and weights)',
      xLabel: 'position (tokens already in the sequence)',
      yLabel: 'decode tokens / s',
      series: [
        { name: 'Griffin (local attention, W=2048)', points: r.window.map((p) => [p.position, p.griffinTokensPerSecond]) },
        { name: 'global attention (transformer-style)', points: r.window.map((p) => [p.position, p.transformerTokensPerSecond]) },
      ],
    }));
    fs.writeFileSync(path.join(outDir, 'memory-vs-position.svg'), linePlot({
      title: 'Inference state memory vs sequence length',
      xLabel: 'position (tokens)',
      yLabel: 'bytes',
      series: [
        { name: 'Griffin state (measured)', points: r.window.map((p) => [p.position, p.griffinStateBytes]) },
        { name: 'global-attention KV cache', points: r.window.map((p) => [p.position, p.transformerCacheBytes]) },
      ],
    }));
  }
}

/** The report as Markdown tables (what the README's Performance section shows). */
export function formatReport(r: BenchReport): string {
  const L: string[] = [];
  const m = r.machine;
  L.push(`Machine (${m.cpu}; kernels: ${m.simd}; ${m.threads} threads): read ${m.readGBs.toFixed(1)} GB/s (1 thread ${m.readGBs1.toFixed(1)}, 4 KiB pages ${m.readGBs4k.toFixed(1)}), fp32 FMA ${m.fmaGflops.toFixed(0)} GFLOP/s, bf16 dot ${m.bf16Gflops.toFixed(0)} GFLOP/s, int8 dot ${m.int8Gops.toFixed(0)} GOP/s; ${amxText(m)}`);
  if (r.micro.length) {
    L.push('', '| kernel (2B shape) | time | GB/s | GFLOP/s | of limit |', '|---|---:|---:|---:|---:|');
    for (const k of r.micro) L.push(`| ${k.name} | ${(k.seconds * 1e3).toFixed(3)} ms | ${k.gbPerSecond.toFixed(1)} | ${k.gflops.toFixed(1)} | ${k.fractionOfLimit === null ? '—' : pct(k.fractionOfLimit)} |`);
  }
  if (r.model) L.push('', `Model: ${r.model.dir} — ${(r.model.params / 1e9).toFixed(3)} B params, ${(r.model.weightBytes / 1e9).toFixed(2)} GB of weights`);
  if (r.weights.length) {
    const pre = r.weights[0]!.prefill.map((p) => `prefill ${p.tokens}`);
    const dec = r.weights[0]!.decode.map((d) => `decode @${d.position}`);
    const bat = r.weights[0]!.batch.map((b) => `batch ${b.batch}`);
    L.push('', `| weights | GB/step | load s | TTFT s | ${[...pre, ...dec, ...bat].join(' | ')} | decode vs ceiling |`, `|---|${'---:|'.repeat(4 + pre.length + dec.length + bat.length)}`);
    for (const w of r.weights)
      L.push(`| ${w.format === 'stored' ? 'bf16 (stored)' : w.format}, ${w.precision} | ${(w.streamBytes / 1e9).toFixed(2)} | ${w.loadSeconds.toFixed(1)} | ${w.ttftSeconds.toFixed(2)} | ${[...w.prefill, ...w.decode, ...w.batch].map((p) => p.tokensPerSecond.toFixed(2)).join(' | ')} | ${pct(w.fractionOfBandwidth)} of ${w.bandwidthCeilingTokensPerSecond.toFixed(2)} |`);
    L.push('', 'Token rates in tokens/s (batch columns: total over the batch). RSS at decode points: ' + r.weights[0]!.decode.map((d) => `@${d.position} ${(d.rssBytes / 2 ** 20).toFixed(0)} MiB`).join(', '));
  }
  if (r.stateSize) L.push('', formatStateSizeReport(r.stateSize).trimEnd());
  if (r.hugePages) L.push('', `Decode ${r.hugePages.format}: memory-mapped ${r.hugePages.mappedTokensPerSecond.toFixed(2)} tok/s, 2 MiB-page copy ${r.hugePages.hugePageTokensPerSecond.toFixed(2)} tok/s`);
  if (r.threads.length) L.push('', 'Decode by threads: ' + r.threads.map((t) => `${t.threads} → ${t.tokensPerSecond.toFixed(2)} tok/s`).join(', '));
  if (r.window.length) {
    L.push('', '| position | Griffin tok/s | global attention tok/s | Griffin state | global-attention cache |', '|---:|---:|---:|---:|---:|');
    for (const p of r.window) L.push(`| ${p.position} | ${p.griffinTokensPerSecond.toFixed(2)} | ${p.transformerTokensPerSecond.toFixed(2)} | ${(p.griffinStateBytes / 2 ** 20).toFixed(1)} MiB | ${(p.transformerCacheBytes / 2 ** 20).toFixed(1)} MiB |`);
  }
  if (r.quality.length) {
    L.push('', '| quality vs unquantized | format | tokens | top-1 agreement | KL mean (max) | perplexity |', '|---|---|---:|---:|---:|---:|');
    for (const q of r.quality) L.push(`| ${q.model} | ${q.format} | ${q.tokens} | ${pct(q.top1Agreement)} | ${q.klMean.toExponential(2)} (${q.klMax.toExponential(2)}) | ${q.perplexityReference.toFixed(3)} → ${q.perplexity.toFixed(3)} |`);
  }
  if (r.targets.length) {
    L.push('', '| target | wanted | measured | met |', '|---|---|---|---|');
    for (const t of r.targets) L.push(`| ${t.name} | ${t.target} | ${t.measured} | ${t.met ? 'yes' : 'no'} |`);
  }
  return L.join('\n') + '\n';
}

/** Parses a comma-separated list of positive integers (CLI helper). */
export function intList(s: string, what: string): number[] {
  const v = s.split(',').filter((x) => x.trim() !== '').map(Number);
  if (v.length === 0 || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) throw new InvalidArgumentError(`${what} must be a comma-separated list of non-negative integers, got ${JSON.stringify(s)}`);
  return v;
}
