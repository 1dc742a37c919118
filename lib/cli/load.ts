/**
 * Model loading for the CLI, with a progress bar on stderr when it is a terminal and loading
 * takes noticeable time (weights are memory-mapped, so usually it does not). stdout stays clean.
 */
import { Presets, SingleBar } from 'cli-progress';

import { RecurrentGemma, type LoadOptions, type LoadProgress } from '../model';

/** Loading shorter than this shows no bar at all. */
const SHOW_AFTER_MS = 300;

export async function loadModel(dir: string | undefined, options: LoadOptions): Promise<RecurrentGemma> {
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
