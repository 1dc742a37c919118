/**
 * Model loading for the CLI, with a progress bar on stderr when it is a terminal and loading
 * takes noticeable time (weights are memory-mapped, so usually it does not). stdout stays clean.
 */
import { Presets, SingleBar } from 'cli-progress';

import { resolveModelDir } from '../hub';
import { RecurrentGemma, type LoadOptions, type LoadProgress } from '../model';
import { pullProgressReporter } from './pull';

/** Loading shorter than this shows no bar at all. */
const SHOW_AFTER_MS = 300;

/**
 * `--model` as given (a folder, or a Hugging Face repository id found in the cache; with
 * `--download`, pulled when missing). Undefined stays undefined (the embedded demo model).
 */
export async function modelDir(model: string | undefined, download = false): Promise<string | undefined> {
  if (model === undefined) return undefined;
  const progress = pullProgressReporter();
  try {
    return await resolveModelDir(model, { download, onProgress: progress.onProgress });
  } finally {
    progress.stop();
  }
}

export async function loadModel(model: string | undefined, options: LoadOptions, download = false): Promise<RecurrentGemma> {
  const dir = await modelDir(model, download);
  const start = Date.now();
  const tty = process.stderr.isTTY === true;
  let bar: SingleBar | undefined;
  const onProgress = (p: LoadProgress) => {
    if (!tty) return;
    if (!bar && Date.now() - start < SHOW_AFTER_MS) return;
    if (!bar) {
      bar = new SingleBar(
        { stream: process.stderr, format: 'loading model [{bar}] {value}/{total} {stage}', clearOnComplete: true, hideCursor: true, fps: 10 },
        Presets.shades_classic,
      );
      bar.start(p.steps, p.step, { stage: p.stage });
    } else {
      bar.update(p.step, { stage: p.stage });
    }
  };
  try {
    return await RecurrentGemma.load(dir, { ...options, onProgress });
  } finally {
    bar?.stop();
  }
}
