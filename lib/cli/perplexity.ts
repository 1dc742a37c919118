/**
 * `recurrentgemma perplexity`: scores a text file (or stdin) under the model, like llama.cpp's
 * perplexity tool: a progress bar with the running perplexity and tokens/s on stderr, the result
 * on stdout (one JSON object with --json).
 */
import * as fs from 'fs';

import type { Command } from 'commander';

import { SCORE_CHUNK_SIZE } from '../scoring/score';
import { readStdin, withInterrupt, writeOut } from './io';
import { loadModel } from './load';
import { addModelOptions, positiveInteger, toLoadOptions, UsageError, type CliGenerationValues } from './options';
import { progressBar } from './progress';

interface PerplexityValues extends Pick<CliGenerationValues, 'model' | 'threads' | 'simd'> {
  file?: string;
  chunkSize: number;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('perplexity')
    .description('score a text (--file, or stdin) under the model: per-token log-likelihood and perplexity, with tokens/s');
  addModelOptions(cmd)
    .option('-f, --file <file>', "text file to score ('-' or omitted: stdin)")
    .option('--chunk-size <n>', 'tokens per forward pass (memory: n x vocab logits)', positiveInteger, SCORE_CHUNK_SIZE)
    .option('--json', 'print one JSON object on stdout')
    .addHelpText('after', '\nThe text is encoded with <bos> first; every text token is scored given all tokens before it\n(the first one given <bos>). The fixed-size state scores any length in one pass.\n\nExamples:\n  $ recurrentgemma perplexity --file wiki.test.raw --model ~/models/recurrentgemma-2b\n  $ cat main.py | recurrentgemma perplexity --json')
    .action(run);
}

async function readText(file: string | undefined): Promise<{ text: string; source: string }> {
  if (file === undefined || file === '-') {
    if (process.stdin.isTTY) throw new UsageError('no text: pass --file FILE or pipe it on stdin');
    return { text: await readStdin(), source: 'stdin' };
  }
  try {
    return { text: await fs.promises.readFile(file, 'utf8'), source: file };
  } catch (e) {
    throw new UsageError(`--file ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

async function run(values: PerplexityValues): Promise<void> {
  const { text, source } = await readText(values.file);
  if (text.length === 0) throw new UsageError(`${source} is empty: nothing to score`);
  const model = await loadModel(values.model, toLoadOptions(values));
  try {
    const ids = model.tokenizer.encode(text, { addBos: true });
    const bar = progressBar('perplexity [{bar}] {value}/{total} tokens | ppl {ppl} | {speed} tokens/s | eta {eta_formatted}');
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    let scored = 0, logLikelihood = 0;
    const { result, interrupted } = await withInterrupt(async (signal) => {
      try {
        return await model.score(ids, {
          chunkSize: values.chunkSize,
          signal,
          onProgress: (p) => {
            scored = p.scored;
            logLikelihood = p.logLikelihood;
            bar.update(p.scored, p.total, { ppl: Math.exp(-p.logLikelihood / p.scored).toFixed(4), speed: (p.scored / seconds()).toFixed(1) });
          },
        });
      } catch (e) {
        if (signal.aborted) return null; // Ctrl-C: report what was scored so far
        throw e;
      } finally {
        bar.stop();
      }
    });
    const elapsed = seconds();
    if (result) {
      scored = result.scoredTokens;
      logLikelihood = result.logLikelihood;
    }
    const report = {
      source,
      model: model.dir,
      tokens: scored,
      complete: !interrupted,
      logLikelihood,
      meanLogprob: scored > 0 ? logLikelihood / scored : 0,
      perplexity: scored > 0 ? Math.exp(-logLikelihood / scored) : NaN,
      seconds: elapsed,
      tokensPerSecond: scored / elapsed,
      chunkSize: values.chunkSize,
      threads: model.runtime.threads,
      simd: model.runtime.simd,
    };
    if (values.json) await writeOut(JSON.stringify(report) + '\n');
    else
      await writeOut(
        `perplexity ${report.perplexity.toFixed(4)} over ${scored} tokens${interrupted ? ' (interrupted)' : ''} ` +
          `(mean log-probability ${report.meanLogprob.toFixed(4)} nats), ${elapsed.toFixed(2)} s, ${report.tokensPerSecond.toFixed(1)} tokens/s\n`,
      );
    if (interrupted) process.exitCode = 130;
  } finally {
    model.dispose();
  }
}
