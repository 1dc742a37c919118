/**
 * Child process of lifecycle.test.ts: the addon is loaded by a worker thread that then exits, and
 * the main thread keeps using it. Per-environment addon data must not be shared across threads
 * (a static constructor reference would dangle once the worker's environment is torn down).
 */
import * as path from 'path';
import { Worker } from 'worker_threads';

import { RecurrentGemma } from '../../lib';

const dir = process.argv[2]!;

async function inWorker(): Promise<number[]> {
  const code = `
    require(${JSON.stringify(path.join(__dirname, 'run-ts.js'))});
    const { parentPort } = require('worker_threads');
    const { RecurrentGemma } = require(${JSON.stringify(path.join(__dirname, '..', '..', 'lib'))});
    (async () => {
      const m = await RecurrentGemma.load(${JSON.stringify(dir)}, { threads: 1 });
      const logits = await m.forward(m.createState(), [5, 6, 7]);
      parentPort.postMessage(Array.from(logits.slice(0, 8)));
    })();`;
  const w = new Worker(code, { eval: true });
  const result = await new Promise<number[]>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
  });
  await w.terminate();
  return result;
}

async function main(): Promise<void> {
  const model = await RecurrentGemma.load(dir, { threads: 1 });
  const before = Array.from((await model.forward(model.createState(), [5, 6, 7])).slice(0, 8));
  const fromWorker = [await inWorker(), await inWorker()];
  // The worker environments are gone; the main thread's objects must still be recognised.
  const s = model.createState();
  const after = Array.from((await model.forward(s, [5, 6, 7])).slice(0, 8));
  s.clone().dispose();
  process.stdout.write(JSON.stringify({ before, fromWorker, after }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
