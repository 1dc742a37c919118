/**
 * Disposal and finalizers: dispose() frees native memory at once, forgotten objects are freed by
 * their finalizers, and churning thousands of states and hundreds of model loads leaves resident
 * memory, threads and file mappings flat. Measured in child processes (fresh heap, --expose-gc).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

import { RecurrentGemma } from '../lib';

const FIXTURE = path.join(__dirname, 'fixtures', 'tiny-f32');
const HELPERS = path.join(__dirname, 'helpers');

function runChild(script: string, args: string[], nodeArgs: string[] = []): unknown {
  const out = execFileSync(process.execPath, [...nodeArgs, '-r', path.join(HELPERS, 'run-ts.js'), path.join(HELPERS, script), ...args], {
    encoding: 'utf8',
    env: process.env,
    timeout: 120_000,
  });
  return JSON.parse(out);
}

interface Snapshot {
  rss: number;
  threads: number;
  maps: number;
}

test('dispose() unmaps the weights and stops the threads immediately', async () => {
  const weights = fs.realpathSync(path.join(FIXTURE, 'model.safetensors'));
  const maps = () => fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((l) => l.endsWith(weights)).length;
  const threads = () => Number(/Threads:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1]);
  // libuv starts its whole thread pool on first use; start it before counting threads.
  await fs.promises.stat(FIXTURE);
  const m0 = maps();
  const t0 = threads();
  const m = await RecurrentGemma.load(FIXTURE, { threads: 3 });
  expect(maps()).toBe(m0 + 1);
  expect(threads()).toBe(t0 + 2); // the calling thread is the pool's third
  m.dispose();
  expect(maps()).toBe(m0);
  expect(threads()).toBe(t0);
});

test('churning states and model loads keeps RSS, threads and mappings flat', () => {
  const STATES = 3000;
  const MODELS = 70;
  const ROUNDS = 3;
  const r = runChild('leak-child.ts', [FIXTURE, String(STATES), String(MODELS), String(ROUNDS)], ['--expose-gc']) as {
    start: Snapshot;
    states: Snapshot[];
    models: Snapshot[];
    end: Snapshot;
    stateBytes: number;
    weightsBytes: number;
  };
  // Half of each round is left to the finalizers: a leak would add this much per round.
  const leakedStatesPerRound = (STATES / 2) * r.stateBytes;
  const leakedModelsPerRound = (MODELS / 2) * r.weightsBytes;
  const grow = (s: Snapshot[]) => s[s.length - 1]!.rss - s[0]!.rss;
  expect(grow(r.states)).toBeLessThan(leakedStatesPerRound / 4);
  expect(grow(r.models)).toBeLessThan(leakedModelsPerRound / 8);
  // Exact: only the long-lived model's mapping exists after every round, none after its dispose.
  expect(r.states.map((s) => s.maps)).toEqual(Array(ROUNDS).fill(1));
  expect(r.models.map((s) => s.maps)).toEqual(Array(ROUNDS).fill(1));
  expect(r.end.maps).toBe(0);
  // Every pool thread of every dropped model was joined.
  expect(new Set(r.models.map((s) => s.threads)).size).toBe(1);
  expect(r.models[0]!.threads).toBe(r.states[0]!.threads);
  expect(r.end.threads).toBe(r.models[0]!.threads - 1);
});

test('a worker thread loading the addon and exiting does not break the main thread', () => {
  const r = runChild('worker-child.ts', [FIXTURE]) as { before: number[]; fromWorker: number[][]; after: number[] };
  expect(r.fromWorker).toEqual([r.before, r.before]);
  expect(r.after).toEqual(r.before);
});
