/**
 * `recurrentgemma pull <repo>`: download a RecurrentGemma checkpoint from the Hugging Face hub
 * into the Hugging Face cache (or --dir), then `--model <repo>` finds it. Progress goes to
 * stderr; stdout gets the folder the model is in, so `$(recurrentgemma pull …)` is a path.
 */
import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';
import { Presets, SingleBar } from 'cli-progress';

import { pullModel, type PullProgress } from '../hub';
import { hubCacheDir, hubEndpoint } from '../hub/endpoint';
import { writeOut } from './io';

interface PullValues {
  revision?: string;
  dir?: string;
  retries: number;
}

function count(value: string): number {
  const v = Number(value);
  if (!Number.isSafeInteger(v) || v < 0) throw new CommanderArgumentError('Not an integer ≥ 0.');
  return v;
}

export function register(program: Command): void {
  program
    .command('pull')
    .description('download a model repository from the Hugging Face hub (config, safetensors weights, tokenizer) into the Hugging Face cache')
    .argument('<repo>', 'repository id, e.g. google/recurrentgemma-2b-it')
    .option('--revision <rev>', 'branch, tag or commit', 'main')
    .option('--dir <dir>', 'download into this folder (plain files) instead of the cache')
    .option('--retries <n>', 'network failures retried per file, each resuming where the data stopped', count, 3)
    .addHelpText(
      'after',
      `
The cache is $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub (shared with Python's
huggingface_hub). Interrupted downloads resume when pull runs again; every file is checked against
the size and sha256 the hub announces. HF_TOKEN is the access token; HF_ENDPOINT another hub URL.
Google's RecurrentGemma repositories are gated: accept the licence on the model's page first.

Examples:
  $ export HF_TOKEN=hf_...
  $ recurrentgemma pull google/recurrentgemma-2b-it
  $ recurrentgemma chat --model google/recurrentgemma-2b-it`,
    )
    .action(run);
}

const MiB = 2 ** 20;

/** Progress on stderr: a bar on a terminal, one line per file otherwise. */
export function pullProgressReporter(): { onProgress: (p: PullProgress) => void; stop: () => void } {
  const tty = process.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  return {
    onProgress: (p) => {
      if (!tty) {
        if (p.event === 'done') process.stderr.write(`${p.file}${p.cached ? ' (already there)' : ''}\n`);
        return;
      }
      if (p.event === 'start') {
        bar = new SingleBar(
          { stream: process.stderr, format: 'pulling [{bar}] {percentage}% | {mb}/{totalMb} MiB | {file}', hideCursor: true, fps: 5, etaBuffer: 50 },
          Presets.shades_classic,
        );
        bar.start(p.totalBytes, 0, { file: '', mb: '0.0', totalMb: (p.totalBytes / MiB).toFixed(1) });
      } else bar?.update(p.bytes, { file: p.file, mb: (p.bytes / MiB).toFixed(1) });
    },
    stop: () => bar?.stop(),
  };
}

async function run(repo: string, values: PullValues): Promise<void> {
  process.stderr.write(`pulling ${repo}@${values.revision ?? 'main'} from ${hubEndpoint()} into ${values.dir ?? hubCacheDir()}\n`);
  const progress = pullProgressReporter();
  let result;
  try {
    result = await pullModel(repo, { revision: values.revision, dir: values.dir, retries: values.retries, onProgress: progress.onProgress });
  } finally {
    progress.stop();
  }
  const total = result.files.reduce((s, f) => s + f.size, 0);
  process.stderr.write(
    `${result.files.length} files, ${(total / MiB).toFixed(1)} MiB at commit ${result.commit.slice(0, 12)} (${(result.downloadedBytes / MiB).toFixed(1)} MiB downloaded)\n` +
      `use it with: --model ${values.dir !== undefined ? result.dir : repo}${values.dir === undefined && values.revision !== undefined && values.revision !== 'main' ? `@${values.revision}` : ''}\n`,
  );
  await writeOut(`${result.dir}\n`);
}
