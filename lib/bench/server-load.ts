#!/usr/bin/env node
/**
 * Load benchmark of `recurrentgemma serve` (a script, not a timed test):
 *
 *   node dist/bench/server-load.js [--model DIR] [--clients 1,4,8,16] [--requests 4] [--max-tokens 64]
 *                                  [--prompt-tokens 64] [--turns 8] [--turn-tokens 32] [--threads N] [--json]
 *
 * Starts the server as a child process (so the load generator does not share its event loop), then
 *  1. for each client count N: N concurrent clients, each sending `--requests` streamed completions
 *     one after the other: total generated tokens/s, time to first token p50 / p99, errors;
 *  2. framework overhead: round trips of GET /health and of a body refused by validation (no model);
 *  3. a multi-turn conversation (each turn resends the history, as chat clients do) against a server
 *     with the state cache and one with --state-cache-mb 0: time to first token per turn.
 * Prompts are token ids and answers come back as ids (return_token_ids), so it runs on checkpoints
 * without a tokenizer (e.g. a synthetic 2B from `recurrentgemma synth`).
 */
import { spawn, type ChildProcess } from 'child_process';
import * as path from 'path';

import { Command } from 'commander';

import { readConfig } from '../checkpoint';
import { DEFAULT_MODEL_DIR } from '../model';
import { rng } from '../synth';

interface Options {
  model: string;
  clients: number[];
  requests: number;
  maxTokens: number;
  promptTokens: number;
  turns: number;
  turnTokens: number;
  threads?: number;
  precision?: string;
  weights?: string;
  json: boolean;
}

interface Server {
  url: string;
  modelId: string;
  stop(): Promise<void>;
}

const main = path.join(__dirname, '..', 'cli', 'main.js');

async function startServer(o: Options, extra: string[]): Promise<Server> {
  const args = [main, 'serve', '--model', o.model, '--port', '0', '--max-batch', String(Math.max(...o.clients, 1)), '--max-queue', '4096', '--max-context', '1000000', ...extra];
  if (o.threads !== undefined) args.push('--threads', String(o.threads));
  if (o.precision) args.push('--precision', o.precision);
  if (o.weights) args.push('--weights', o.weights);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    const poll = () => {
      const m = /serving \S+ at (http:\/\/\S+)\/v1/.exec(out);
      if (m) return resolve(m[1]!);
      if (child.exitCode !== null) return reject(new Error(`the server did not start: ${err.trim()}`));
      setTimeout(poll, 20);
    };
    poll();
  });
  const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
  const server = {
    url,
    modelId: models.data[0]!.id,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
  // One short request first, so the first measurement does not include warming up the process.
  await streamCompletion(server, [2, 300, 301, 302], 4);
  return server;
}

/** One streamed completion: time to the first token, tokens generated, the answer's ids. */
interface Sample {
  ttftMs: number;
  totalMs: number;
  completionTokens: number;
  cachedTokens: number;
  tokenIds: number[];
}

async function streamCompletion(server: Server, prompt: number[], maxTokens: number): Promise<Sample> {
  const start = performance.now();
  const r = await fetch(`${server.url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: server.modelId, prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true }, return_token_ids: true }),
  });
  if (r.status !== 200 || !r.body) throw new Error(`HTTP ${r.status}: ${await r.text()}`);
  let ttft = -1;
  let buffer = '';
  const tokenIds: number[] = [];
  let usage: { completion_tokens: number; prompt_tokens_details: { cached_tokens: number } } | undefined;
  const decoder = new TextDecoder();
  for await (const bytes of r.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(bytes, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (!event.startsWith('data: ') || event === 'data: [DONE]') continue;
      const data = JSON.parse(event.slice(6)) as { error?: { message: string }; usage?: typeof usage; choices: { token_ids?: number[] }[] };
      if (data.error) throw new Error(data.error.message);
      const ids = data.choices[0]?.token_ids ?? [];
      if (ids.length > 0 && ttft < 0) ttft = performance.now() - start;
      tokenIds.push(...ids);
      if (data.usage) usage = data.usage;
    }
  }
  if (!usage) throw new Error('the stream ended without usage');
  return { ttftMs: ttft, totalMs: performance.now() - start, completionTokens: usage.completion_tokens, cachedTokens: usage.prompt_tokens_details.cached_tokens, tokenIds };
}

function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Token ids away from the special tokens at the bottom of Gemma vocabularies. */
function randomIds(rand: () => number, n: number, vocab: number): number[] {
  const lo = Math.min(200, vocab - 1);
  const hi = Math.min(vocab, 20_000);
  return Array.from({ length: n }, () => lo + Math.floor(rand() * (hi - lo)));
}

interface LoadPoint {
  clients: number;
  requests: number;
  errors: number;
  generatedTokens: number;
  seconds: number;
  tokensPerSecond: number;
  ttftP50Ms: number;
  ttftP99Ms: number;
}

async function loadPoint(server: Server, o: Options, clients: number, vocab: number): Promise<LoadPoint> {
  const rand = rng(1000 + clients);
  const ttfts: number[] = [];
  let errors = 0;
  let generated = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (let i = 0; i < o.requests; i++) {
        try {
          const s = await streamCompletion(server, [2, ...randomIds(rand, o.promptTokens - 1, vocab)], o.maxTokens);
          ttfts.push(s.ttftMs);
          generated += s.completionTokens;
        } catch (e) {
          errors++;
          if (errors <= 3) process.stderr.write(`  error: ${(e as Error).message}\n`);
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  return { clients, requests: clients * o.requests, errors, generatedTokens: generated, seconds, tokensPerSecond: generated / seconds, ttftP50Ms: percentile(ttfts, 50), ttftP99Ms: percentile(ttfts, 99) };
}

async function roundTrips(server: Server, n: number): Promise<{ healthP50Ms: number; rejectedP50Ms: number }> {
  const health: number[] = [];
  const rejected: number[] = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    await (await fetch(`${server.url}/health`)).arrayBuffer();
    health.push(performance.now() - t);
    t = performance.now();
    await (await fetch(`${server.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: server.modelId, prompt: [2], unknown_field: 1 }) })).arrayBuffer();
    rejected.push(performance.now() - t);
  }
  return { healthP50Ms: percentile(health, 50), rejectedP50Ms: percentile(rejected, 50) };
}

interface TurnPoint {
  turn: number;
  promptTokens: number;
  cachedTokens: number;
  ttftMs: number;
}

/** One conversation: each turn resends everything so far plus `turnTokens` new ones. */
async function conversation(server: Server, o: Options, vocab: number): Promise<TurnPoint[]> {
  const rand = rng(4242);
  let history = [2, ...randomIds(rand, o.promptTokens - 1, vocab)];
  const out: TurnPoint[] = [];
  for (let turn = 1; turn <= o.turns; turn++) {
    const s = await streamCompletion(server, history, o.maxTokens);
    out.push({ turn, promptTokens: history.length, cachedTokens: s.cachedTokens, ttftMs: s.ttftMs });
    history = [...history, ...s.tokenIds, ...randomIds(rand, o.turnTokens, vocab)];
  }
  return out;
}

function list(value: string): number[] {
  return value.split(',').map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`not a positive integer: ${v}`);
    return n;
  });
}

async function run(o: Options): Promise<void> {
  const vocab = readConfig(o.model).vocabSize;
  const report: Record<string, unknown> = { model: o.model, options: o };
  const say = (s: string) => {
    if (!o.json) process.stdout.write(`${s}\n`);
  };
  say(`server load benchmark: ${o.model} (${o.promptTokens}-token prompts, ${o.maxTokens} generated, greedy)`);
  const server = await startServer(o, []);
  try {
    const points: LoadPoint[] = [];
    say('clients  requests  errors  tokens  seconds  tokens/s  x 1 client  TTFT p50 ms  TTFT p99 ms');
    for (const clients of o.clients) {
      const p = await loadPoint(server, o, clients, vocab);
      points.push(p);
      const ratio = p.tokensPerSecond / points[0]!.tokensPerSecond;
      say(`${String(clients).padStart(7)}  ${String(p.requests).padStart(8)}  ${String(p.errors).padStart(6)}  ${String(p.generatedTokens).padStart(6)}  ${p.seconds.toFixed(2).padStart(7)}  ${p.tokensPerSecond.toFixed(1).padStart(8)}  ${ratio.toFixed(2).padStart(10)}  ${p.ttftP50Ms.toFixed(1).padStart(11)}  ${p.ttftP99Ms.toFixed(1).padStart(11)}`);
    }
    report.load = points;
    const one = points.find((p) => p.clients === 1);
    const eight = points.find((p) => p.clients === 8);
    if (one && eight) {
      const ratio = eight.tokensPerSecond / one.tokensPerSecond;
      report.eightVsOne = ratio;
      say(`8 clients / 1 client total tokens/s: ${ratio.toFixed(2)}x (issue 13 target on the synthetic 2B: >= 4x with 0 errors; errors: ${eight.errors})`);
    }
    const overhead = await roundTrips(server, 200);
    report.overhead = overhead;
    say(`framework overhead (HTTP + fastify, no model): GET /health p50 ${overhead.healthP50Ms.toFixed(2)} ms; body refused by validation p50 ${overhead.rejectedP50Ms.toFixed(2)} ms`);
    report.cached = await conversation(server, o, vocab);
  } finally {
    await server.stop();
  }
  const cold = await startServer(o, ['--state-cache-mb', '0']);
  try {
    report.uncached = await conversation(cold, o, vocab);
  } finally {
    await cold.stop();
  }
  const cached = report.cached as TurnPoint[];
  const uncached = report.uncached as TurnPoint[];
  say(`multi-turn conversation (+${o.turnTokens} tokens per turn): time to first token`);
  say('turn  prompt tokens  cached tokens  TTFT with cache ms  TTFT without ms');
  for (let i = 0; i < cached.length; i++) {
    const c = cached[i]!;
    say(`${String(c.turn).padStart(4)}  ${String(c.promptTokens).padStart(13)}  ${String(c.cachedTokens).padStart(13)}  ${c.ttftMs.toFixed(1).padStart(18)}  ${uncached[i]!.ttftMs.toFixed(1).padStart(15)}`);
  }
  if (o.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

const program = new Command('server-load')
  .option('--model <dir>', 'checkpoint folder', DEFAULT_MODEL_DIR)
  .option('--clients <list>', 'concurrent client counts', list, [1, 4, 8, 16])
  .option('--requests <n>', 'requests per client per point', (v) => list(v)[0]!, 4)
  .option('--max-tokens <n>', 'tokens generated per request', (v) => list(v)[0]!, 64)
  .option('--prompt-tokens <n>', 'prompt length', (v) => list(v)[0]!, 64)
  .option('--turns <n>', 'turns of the multi-turn conversation', (v) => list(v)[0]!, 8)
  .option('--turn-tokens <n>', 'new tokens per turn', (v) => list(v)[0]!, 32)
  .option('--threads <n>', 'server kernel threads', (v) => list(v)[0]!)
  .option('--precision <p>', 'exact | fast')
  .option('--weights <w>', 'stored | int8 | q4')
  .option('--json', 'print the results as JSON', false);
program.parse();
run(program.opts<Options>()).catch((e: unknown) => {
  process.stderr.write(`server-load: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
