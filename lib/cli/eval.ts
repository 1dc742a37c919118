/**
 * `recurrentgemma eval`: multiple-choice evaluation by log-likelihood (lm-evaluation-harness
 * convention: acc and byte-length-normalised acc_norm) over a JSONL task file, with a progress bar
 * on stderr and a summary on stdout (one JSON object with --json).
 */
import * as fs from 'fs';

import type { Command } from 'commander';

import { parseTasks } from '../scoring/eval';
import { withInterrupt, writeOut } from './io';
import { loadModel } from './load';
import { addModelOptions, positiveInteger, toLoadOptions, UsageError, type CliGenerationValues } from './options';
import { progressBar } from './progress';

interface EvalValues extends Pick<CliGenerationValues, 'model' | 'threads' | 'simd'> {
  file: string;
  prefixFile?: string;
  limit?: number;
  json?: boolean;
  items?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('eval')
    .description('multiple-choice evaluation by log-likelihood (acc, acc_norm) over a JSONL task file');
  addModelOptions(cmd)
    .requiredOption('-f, --file <tasks.jsonl>', 'one {"context": string, "choices": [string, ...], "gold": index} per line')
    .option('--prefix-file <file>', 'few-shot text put before every context (prefilled once, the state cloned per item)')
    .option('--limit <n>', 'evaluate only the first n items', positiveInteger)
    .option('--json', 'print the summary as one JSON object on stdout')
    .option('--items', 'with --json: include every item\'s log-likelihoods and predictions')
    .addHelpText(
      'after',
      '\nEach choice is scored as a continuation of the context (trailing whitespace of the context moves\n' +
        'to the choice, as lm-evaluation-harness does). acc: the most likely choice is the gold one;\n' +
        'acc_norm: the same with each log-likelihood divided by the choice\'s length in UTF-8 bytes.\n\n' +
        'Example:\n  $ recurrentgemma eval --model ~/models/recurrentgemma-2b --file hellaswag.jsonl --prefix-file fewshot.txt --json',
    )
    .action(run);
}

function readFile(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag} ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
}

async function run(values: EvalValues): Promise<void> {
  let items = parseTasks(readFile(values.file, '--file'), values.file);
  if (values.limit !== undefined) items = items.slice(0, values.limit);
  const prefix = values.prefixFile !== undefined ? readFile(values.prefixFile, '--prefix-file') : undefined;
  const model = await loadModel(values.model, toLoadOptions(values));
  try {
    const bar = progressBar('eval [{bar}] {value}/{total} items | acc {acc} | acc_norm {accNorm} | eta {eta_formatted}');
    const started = process.hrtime.bigint();
    const { result, interrupted } = await withInterrupt(async (signal) => {
      try {
        return await model.evaluate(items, {
          prefix,
          signal,
          onProgress: (p) => bar.update(p.done, p.total, { acc: p.acc.toFixed(4), accNorm: p.accNorm.toFixed(4) }),
        });
      } catch (e) {
        if (signal.aborted) return null;
        throw e;
      } finally {
        bar.stop();
      }
    });
    if (!result || interrupted) {
      process.stderr.write('interrupted\n');
      process.exitCode = 130;
      return;
    }
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    // Field names as lm-evaluation-harness reports them.
    const summary = {
      task: values.file,
      model: model.dir,
      items: result.items,
      acc: result.acc,
      acc_stderr: result.accStderr,
      acc_norm: result.accNorm,
      acc_norm_stderr: result.accNormStderr,
      fewshot_prefix: values.prefixFile ?? null,
      seconds,
      ...(values.items ? { results: result.results } : {}),
    };
    if (values.json) await writeOut(JSON.stringify(summary) + '\n');
    else
      await writeOut(
        `${values.file}: ${result.items} items in ${seconds.toFixed(1)} s\n` +
          `acc      ${result.acc.toFixed(4)} ± ${result.accStderr.toFixed(4)}\n` +
          `acc_norm ${result.accNorm.toFixed(4)} ± ${result.accNormStderr.toFixed(4)}\n`,
      );
  } finally {
    model.dispose();
  }
}
