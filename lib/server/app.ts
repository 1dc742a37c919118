/**
 * The OpenAI-compatible HTTP server: fastify with JSON-schema validation of every body, errors
 * in OpenAI's shape, optional bearer-key auth on /v1, and one Scheduler (continuous batching and
 * the state cache) per model. Embed it with createServer(model, options) / serve(model, options).
 */
import * as path from 'path';

import type { FastifyInstance } from 'fastify';

import type { RecurrentGemma } from '../model';
import { InvalidArgumentError } from '../errors';
import { bearerAuth } from './auth';
import { serverTemplate } from './chat-prompt';
import type { ReadyParts, ServerContext } from './context';
import { ApiError, toApiError } from './errors';
import { dedupedLog, stderrLog, type LogFn } from './log';
import type { RedisTierOptions } from './redis-tier';
import { registerChat } from './routes/chat';
import { registerCompletions } from './routes/completions';
import { registerModels } from './routes/models';
import { ShutdownAbort, usageOf } from './routes/run';
import { Scheduler } from './scheduler';

/** Options of createServer() / serve(). */
export interface ServerOptions {
  /** The id clients send as `model` (default: the model folder's name). */
  modelId?: string;
  /** When set, every /v1 route needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** Most sequences decoding at once, sharing each step (default 8). */
  maxBatch?: number;
  /** Most requests waiting for a slot; more are refused with 429 (default 64). */
  maxQueue?: number;
  /** Longest piece of a prompt prefilled per step, so a long prompt never stalls the others (default 64). */
  prefillChunk?: number;
  /** Bytes of conversation states kept in this process (default 512 MiB). */
  stateCacheBytes?: number;
  /** Share states through Redis: a URL or the tier's options. */
  redis?: string | RedisTierOptions;
  /** Largest max_tokens a request may ask for; also the default (capped by the context) (default 4096). */
  maxTokens?: number;
  /** Largest prompt + max_tokens (default 8192). */
  maxContext?: number;
  /** Largest request body in bytes (default 4 MiB). */
  bodyLimitBytes?: number;
  /** A client must send its whole request within this time (default 30 s). */
  requestTimeoutMs?: number;
  /** On close(), how long in-flight requests may finish before they are cut (default 10 s). */
  shutdownGraceMs?: number;
  /** Minimum prefilled tokens between two cached message-boundary states (default 32). */
  snapshotMinTokens?: number;
  /** A Jinja chat template instead of the folder's. */
  chatTemplate?: string;
  /** One-line diagnostics (Redis trouble, refused cached states); default stderr, false = silent. */
  log?: LogFn | false;
}

/** Options of serve(): where to listen, plus ServerOptions. */
export interface ListenOptions extends ServerOptions {
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
}

/** A running (or ready-to-listen) server. */
export interface RecurrentGemmaServer {
  /** The fastify instance (for inject() in tests or extra routes). */
  readonly app: FastifyInstance;
  /** Starts listening; resolves to the base URL, e.g. http://127.0.0.1:8080. */
  listen(options?: { host?: string; port?: number }): Promise<string>;
  /** The base URL once listening. */
  readonly url: string | undefined;
  /** The model id clients send (known once the model is loaded). */
  readonly modelId: string | undefined;
  /** Stops accepting requests, lets in-flight ones finish (up to shutdownGraceMs), cuts the rest, releases the port. */
  close(): Promise<void>;
}

function positive(name: string, v: unknown, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw new InvalidArgumentError(`${name} must be an integer in [1, ${max}], got ${String(v)}`, 'ERR_RG_OUT_OF_RANGE');
  return v;
}

function nonNegative(name: string, v: unknown, fallback: number): number {
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new InvalidArgumentError(`${name} must be an integer >= 0, got ${String(v)}`, 'ERR_RG_OUT_OF_RANGE');
  return v;
}

/**
 * Builds the server for `model` (or for a model still loading: /health says "loading" and /v1
 * routes answer 503 until it resolves). Nothing listens until listen().
 */
export function createServer(model: RecurrentGemma | Promise<RecurrentGemma>, options: ServerOptions = {}): RecurrentGemmaServer {
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('server options must be an object');
  if (options.apiKey !== undefined && (typeof options.apiKey !== 'string' || options.apiKey.length === 0)) throw new InvalidArgumentError('apiKey must be a non-empty string');
  const maxBatch = positive('maxBatch', options.maxBatch, 8, 1024);
  const maxQueue = nonNegative('maxQueue', options.maxQueue, 64);
  const prefillChunk = positive('prefillChunk', options.prefillChunk, 64, 1 << 20);
  const stateCacheBytes = nonNegative('stateCacheBytes', options.stateCacheBytes, 512 << 20);
  const maxTokens = positive('maxTokens', options.maxTokens, 4096);
  const maxContext = positive('maxContext', options.maxContext, 8192);
  const bodyLimit = positive('bodyLimitBytes', options.bodyLimitBytes, 4 << 20);
  const requestTimeout = positive('requestTimeoutMs', options.requestTimeoutMs, 30_000);
  const shutdownGraceMs = nonNegative('shutdownGraceMs', options.shutdownGraceMs, 10_000);
  const snapshotMinTokens = positive('snapshotMinTokens', options.snapshotMinTokens, 32);
  const redis = typeof options.redis === 'string' ? { url: options.redis } : options.redis;
  if (redis !== undefined && (typeof redis !== 'object' || typeof redis.url !== 'string')) throw new InvalidArgumentError('redis must be a URL or { url, ... }');
  const log = options.log === false ? () => {} : dedupedLog(options.log ?? stderrLog);

  // Loaded on first use: `require('recurrentgemma')` should not pay for an HTTP framework it may never use.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { fastify } = require('fastify') as typeof import('fastify');
  const app = fastify({
    bodyLimit,
    requestTimeout,
    logger: false,
    // Refuse unknown fields and wrong types instead of fastify's defaults (drop / coerce silently).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: false, allErrors: false, allowUnionTypes: true } },
  });

  let parts: ReadyParts | undefined;
  let loadError: Error | undefined;
  let closing = false;
  let modelId = options.modelId;
  let systemFingerprint = '';
  const inflight = new Set<AbortController>();
  const created = Math.floor(Date.now() / 1000);

  const attach = (m: RecurrentGemma) => {
    modelId ??= path.basename(m.dir);
    systemFingerprint = `fp_${m.fingerprint.weights.slice(0, 12)}`;
    const scheduler = new Scheduler(m, { maxBatch, maxQueue, prefillChunk, stateCacheBytes, redis, snapshotMinTokens, log });
    let chat: ReturnType<ReadyParts['chat']> | undefined;
    parts = {
      model: m,
      scheduler,
      chat: () => (chat ??= { template: serverTemplate(m.tokenizer, options.chatTemplate), tokenizer: m.tokenizer }),
    };
  };
  const loading = model instanceof Promise ? model : undefined;
  if (loading)
    loading.then(attach, (e: unknown) => {
      loadError = e instanceof Error ? e : new Error(String(e));
      log(`model failed to load: ${loadError.message}`);
    });
  else attach(model as RecurrentGemma);

  const ctx: ServerContext = {
    app,
    get modelId() {
      return modelId ?? '';
    },
    created,
    get systemFingerprint() {
      return systemFingerprint;
    },
    limits: { maxTokens, maxContext },
    inflight,
    ready: () => {
      if (closing) throw new ApiError(503, 'the server is shutting down', { type: 'service_unavailable', code: 'server_shutdown', retryAfterSeconds: 1 });
      if (loadError) throw new ApiError(503, `the model failed to load: ${loadError.message}`, { type: 'service_unavailable', code: 'model_load_failed' });
      if (!parts) throw new ApiError(503, 'the model is still loading', { type: 'service_unavailable', code: 'model_loading', retryAfterSeconds: 1 });
      return parts;
    },
    checkModel: (requested) => {
      if (requested !== modelId) throw new ApiError(404, `The model '${requested}' does not exist (this server serves '${modelId}')`, { param: 'model', code: 'model_not_found' });
    },
    usage: usageOf,
    health: () => {
      const s = parts?.scheduler;
      return {
        status: closing ? 'closing' : loadError ? 'error' : parts ? 'ready' : 'loading',
        model: modelId ?? null,
        active_sequences: s?.admission.activeSequences ?? 0,
        queue_depth: s?.admission.queueDepth ?? 0,
        max_batch: maxBatch,
        max_queue: maxQueue,
        batcher: s ? { ...s.batcher.stats } : null,
        state_cache: s ? s.cache.stats : null,
        redis: s?.redis ? s.redis.status : 'off',
      };
    },
  };

  const authorize = options.apiKey !== undefined ? bearerAuth(options.apiKey) : undefined;
  app.addHook('onRequest', async (request) => {
    if (authorize && (request.url === '/v1' || request.url.startsWith('/v1/'))) authorize(request.headers.authorization);
  });
  app.setErrorHandler(async (error, _request, reply) => {
    const api = toApiError(error);
    if (api.retryAfterSeconds !== undefined) void reply.header('retry-after', String(api.retryAfterSeconds));
    return reply.status(api.status).send(api.toBody());
  });
  app.setNotFoundHandler(async (request, reply) => {
    const api = new ApiError(404, `Invalid URL (${request.method} ${request.url.split('?')[0]})`, { code: 'unknown_url' });
    return reply.status(404).send(api.toBody());
  });
  registerModels(ctx);
  registerChat(ctx);
  registerCompletions(ctx);

  let url: string | undefined;
  let closed: Promise<void> | undefined;
  return {
    app,
    get url() {
      return url;
    },
    get modelId() {
      return modelId;
    },
    async listen(where = {}) {
      const host = where.host ?? '127.0.0.1';
      const port = where.port ?? 8080;
      await app.listen({ host, port });
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address !== null ? address.port : port;
      url = `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
      return url;
    },
    close() {
      closed ??= (async () => {
        closing = true;
        const s = parts?.scheduler;
        s?.admission.rejectWaiting(new ShutdownAbort());
        // Let in-flight requests finish, then cut the rest (their streams get an error event).
        const deadline = Date.now() + shutdownGraceMs;
        while (inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const c of inflight) c.abort(new ShutdownAbort());
        const cutDeadline = Date.now() + 5000;
        while (inflight.size > 0 && Date.now() < cutDeadline) await new Promise((r) => setTimeout(r, 20));
        await app.close();
        await s?.close();
      })();
      return closed;
    },
  };
}

/** createServer() and listen(): resolves once the server accepts connections. */
export async function serve(model: RecurrentGemma | Promise<RecurrentGemma>, options: ListenOptions = {}): Promise<RecurrentGemmaServer> {
  const { host, port, ...rest } = options;
  const server = createServer(model, rest);
  await server.listen({ host, port });
  return server;
}
