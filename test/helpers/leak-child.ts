/**
 * Child process of lifecycle.test.ts (run with --expose-gc): creates and drops states and models
 * in rounds, half disposed explicitly and half left to the finalizers, and prints as JSON what is
 * left after each round: resident set size, thread count and mappings of the weights file.
 *
 * RSS is compared between rounds, not against the start: glibc keeps freed heap for reuse, so the
 * first round sets a high-water mark that later rounds must stay at if nothing leaks.
 */
import * as fs from 'fs';
import * as path from 'path';

import { RecurrentGemma } from '../../lib';

const [dir, statesArg, modelsArg, roundsArg] = process.argv.slice(2) as [string, string, string, string];
const gc = (globalThis as { gc?: () => void }).gc!;
const weightsFile = fs.realpathSync(path.join(dir, 'model.safetensors'));

interface Snapshot {
  rss: number;
  threads: number;
  /** Mappings of the weights file: one per live model. */
  maps: number;
}

async function settle(): Promise<Snapshot> {
  // Finalizers of wrapped native objects may run on a later tick than the collection itself.
  for (let i = 0; i < 6; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const maps = fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(weightsFile)).length;
  return { rss: process.memoryUsage().rss, threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1]), maps };
}

async function churnStates(model: RecurrentGemma, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const s = model.createState();
    if (i % 100 === 0) await model.forward(s, [i % 512]);
    if (i % 2 === 0) s.dispose();
  }
}

async function churnModels(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const m = await RecurrentGemma.load(dir, { threads: 1 + (i % 2) });
    // Touches every weight page, so a model whose mapping leaked would show in RSS.
    await m.forward(m.createState(), [1]);
    if (i % 2 === 0) m.dispose();
  }
}

async function main(): Promise<void> {
  const model = await RecurrentGemma.load(dir, { threads: 2 });
  const probe = model.createState();
  const stateBytes = probe.byteLength;
  probe.dispose();
  const rounds = Number(roundsArg);
  const start = await settle();
  const states: Snapshot[] = [];
  for (let r = 0; r < rounds; r++) {
    await churnStates(model, Number(statesArg));
    states.push(await settle());
  }
  const models: Snapshot[] = [];
  for (let r = 0; r < rounds; r++) {
    await churnModels(Number(modelsArg));
    models.push(await settle());
  }
  model.dispose();
  const end = await settle();
  process.stdout.write(JSON.stringify({ start, states, models, end, stateBytes, weightsBytes: fs.statSync(weightsFile).size }));
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
