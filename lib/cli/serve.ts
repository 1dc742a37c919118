/**
 * `recurrentgemma serve`: the OpenAI-compatible HTTP server (lib/server). Listens at once (GET
 * /health says "loading"), prints one line with the URL on stdout when the model is ready, and on
 * SIGINT / SIGTERM lets in-flight requests finish (up to --shutdown-grace), then exits 0.
 */
import * as fs from 'fs';

import { InvalidArgumentError as CommanderArgumentError, type Command } from 'commander';

import { parseRepoRef } from '../hub';
import { createServer } from '../server';
import { loadModel } from './load';
import { addModelOptions, toLoadOptions, UsageError, type CliModelValues } from './options';
import { writeOut } from './io';

interface ServeValues extends CliModelValues {
  host: string;
  port: number;
  apiKey?: string;
  modelId?: string;
  maxBatch: number;
  maxQueue: number;
  stateCacheMb: number;
  redis?: string;
  maxTokens: number;
  maxContext: number;
  prefillChunk: number;
  shutdownGrace: number;
}

function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const v = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(v) || v < min || v > max) throw new CommanderArgumentError(`Must be an integer in [${min}, ${max}].`);
    return v;
  };
}

export function register(program: Command): void {
  const cmd = program
    .command('serve')
    .description('serve the model over an OpenAI-compatible HTTP API (/v1/chat/completions, /v1/completions, /v1/models, /health)');
  addModelOptions(cmd)
    .option('--host <address>', 'address to listen on (anything but loopback exposes the server: set an API key)', '127.0.0.1')
    .option('--port <n>', 'port (0 = any free port)', integer(0, 65535), 8080)
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" on /v1 routes (default: $RECURRENTGEMMA_API_KEY)')
    .option('--model-id <name>', 'the model id clients send (default: the model folder name)')
    .option('--max-batch <n>', 'most sequences decoding at once, sharing each step', integer(1, 1024), 8)
    .option('--max-queue <n>', 'most requests waiting for a slot; more get 429', integer(0), 64)
    .option('--state-cache-mb <n>', 'MiB of conversation states cached in this process', integer(0), 512)
    .option('--redis <url>', 'share conversation states with other replicas through Redis (redis://host:port)')
    .option('--max-tokens <n>', 'largest max_tokens a request may ask for', integer(1), 4096)
    .option('--max-context <n>', 'largest prompt + max_tokens', integer(1), 8192)
    .option('--prefill-chunk <n>', 'prompt tokens prefilled per step (keeps others decoding)', integer(1), 64)
    .option('--shutdown-grace <ms>', 'on SIGINT/SIGTERM, how long in-flight requests may finish', integer(0), 10_000)
    .action(run);
}

async function run(v: ServeValues): Promise<void> {
  const apiKey = v.apiKey ?? process.env.RECURRENTGEMMA_API_KEY;
  if (apiKey !== undefined && apiKey.length === 0) throw new UsageError('--api-key must not be empty');
  if (v.redis !== undefined && !/^rediss?:\/\//.test(v.redis)) throw new UsageError(`--redis must be a redis:// or rediss:// URL, got ${JSON.stringify(v.redis)}`);
  const loopback = v.host === '127.0.0.1' || v.host === '::1' || v.host === 'localhost';
  if (!loopback && apiKey === undefined) process.stderr.write(`warning: listening on ${v.host} without an API key: anyone who can reach this port can use the model\n`);
  const loading = loadModel(v.model, toLoadOptions(v), v.download === true); // --precision, --weights and --huge-pages come with addModelOptions
  loading.catch(() => {}); // awaited below; the server reports the failure meanwhile
  const server = createServer(loading, {
    apiKey,
    // `--model google/recurrentgemma-2b-it` is served under that name, not its cache folder's (a commit id).
    modelId: v.modelId ?? (v.model !== undefined && !fs.existsSync(v.model) && parseRepoRef(v.model) !== null ? v.model : undefined),
    maxBatch: v.maxBatch,
    maxQueue: v.maxQueue,
    stateCacheBytes: v.stateCacheMb * 1024 * 1024,
    redis: v.redis,
    maxTokens: v.maxTokens,
    maxContext: v.maxContext,
    prefillChunk: v.prefillChunk,
    shutdownGraceMs: v.shutdownGrace,
  });
  const url = await server.listen({ host: v.host, port: v.port });
  let model;
  try {
    model = await loading;
  } catch (e) {
    await server.close();
    throw e;
  }
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  await writeOut(`recurrentgemma: serving ${server.modelId ?? model.dir} at ${url}/v1\n`);
  const signal = await stopped;
  process.stderr.write(`recurrentgemma: ${signal}: finishing in-flight requests, then stopping\n`);
  await server.close();
  model.dispose();
}
