/**
 * A progress bar on stderr for long commands (perplexity, eval), shown only when stderr is a
 * terminal so pipes and logs get just the final result.
 */
import { Presets, SingleBar } from 'cli-progress';

export interface ProgressBar {
  /** Moves the bar to `value` of `total`, with the payload fields of the format. */
  update(value: number, total: number, payload: Record<string, string>): void;
  stop(): void;
}

/** `format` uses cli-progress tokens ({bar}, {value}, {total}, {eta_formatted}) and payload names. */
export function progressBar(format: string): ProgressBar {
  if (process.stderr.isTTY !== true) return { update() {}, stop() {} };
  let bar: SingleBar | undefined;
  return {
    update(value, total, payload) {
      if (!bar) {
        bar = new SingleBar({ stream: process.stderr, format, hideCursor: true, fps: 5, etaBuffer: 20 }, Presets.shades_classic);
        bar.start(total, value, payload);
      } else {
        bar.setTotal(total);
        bar.update(value, payload);
      }
    },
    stop() {
      bar?.stop();
    },
  };
}
