/**
 * What both generation endpoints share: admission (429 before any byte is sent), the client's
 * disconnect as an abort signal, running the request on the scheduler, and answering as one JSON
 * body or as an SSE stream. Endpoint files only supply the prompt and the response shapes.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

import type { GenerationChunk } from '../../generation';
import { ApiError, toApiError } from '../errors';
import type { GenerationPlan } from '../params';
import type { ChoiceResult, Scheduler, SequenceResult } from '../scheduler';
import { SseStream } from '../sse';

/** OpenAI's usage object. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

export function usageOf(r: SequenceResult): Usage {
  return { prompt_tokens: r.promptTokens, completion_tokens: r.completionTokens, total_tokens: r.promptTokens + r.completionTokens, prompt_tokens_details: { cached_tokens: r.cachedTokens } };
}

/** The OpenAI finish_reason of a choice ('abort' only happens when nobody is listening, or at shutdown). */
export function finishReason(c: Pick<ChoiceResult, 'finishReason'>): 'stop' | 'length' {
  return c.finishReason === 'length' ? 'length' : 'stop';
}

/** How one endpoint shapes its answers. */
export interface EndpointShape {
  /** Stream chunks: the first of a choice (e.g. the assistant role), or undefined for none. */
  opening?(index: number): unknown;
  /**
   * A chunk carrying new text of a choice and the generation chunk it came from (its token, and
   * its logprobs unless the token is a closing stop token: `ownsToken` false).
   */
  text(index: number, text: string, chunk: GenerationChunk, ownsToken: boolean): unknown;
  /** Send a chunk for every token, also when it completes no text yet (return_token_ids, logprobs). */
  everyToken?: boolean;
  /** The closing chunk of a choice. */
  finish(index: number, reason: 'stop' | 'length'): unknown;
  /** The usage-only chunk (stream_options.include_usage). */
  usage(usage: Usage): unknown;
  /** The whole (non-streamed) response. */
  body(result: SequenceResult): unknown;
}

/** In-flight requests, so shutdown can cut them with a proper event. */
export interface InflightRegistry {
  add(controller: AbortController): void;
  delete(controller: AbortController): void;
}

/** Why a request was aborted by the server (not by the client). */
export class ShutdownAbort extends Error {
  constructor() {
    super('the server is shutting down');
  }
}

export async function runGeneration(
  scheduler: Scheduler,
  inflight: InflightRegistry,
  request: FastifyRequest,
  reply: FastifyReply,
  prompt: { ids: number[]; boundaries?: number[] },
  plan: GenerationPlan,
  shape: EndpointShape,
): Promise<void> {
  const controller = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) controller.abort(new Error('the client disconnected'));
  };
  reply.raw.on('close', onClose);
  inflight.add(controller);
  let release: (() => void) | undefined;
  try {
    release = await scheduler.admit(plan.n, controller.signal);
    if (!plan.stream) {
      const result = await scheduler.run({ promptIds: prompt.ids, boundaries: prompt.boundaries, n: plan.n, options: plan.options, seed: plan.seed, signal: controller.signal });
      if (controller.signal.aborted) throw controller.signal.reason;
      await reply.send(shape.body(result));
      return;
    }
    reply.hijack(); // from here on the SSE stream owns the response
    const sse = new SseStream(reply.raw, () => controller.abort(new Error('the client is not reading the stream')));
    sse.open();
    for (let i = 0; i < plan.n; i++) {
      const first = shape.opening?.(i);
      if (first !== undefined) sse.send(first);
    }
    const onChunk = (index: number, chunk: GenerationChunk) => {
      const ownsToken = !(chunk.finishReason === 'stop' && scheduler.isStopToken(chunk.token));
      if (chunk.text.length > 0 || (shape.everyToken && ownsToken)) sse.send(shape.text(index, chunk.text, chunk, ownsToken));
      if (chunk.finishReason !== undefined && chunk.finishReason !== 'abort') sse.send(shape.finish(index, finishReason({ finishReason: chunk.finishReason })));
    };
    try {
      const result = await scheduler.run({ promptIds: prompt.ids, boundaries: prompt.boundaries, n: plan.n, options: plan.options, seed: plan.seed, signal: controller.signal, onChunk });
      if (controller.signal.aborted) throw controller.signal.reason;
      if (plan.includeUsage) sse.send(shape.usage(usageOf(result)));
      sse.done();
    } catch (e) {
      // Headers are out: the failure goes to the client as an error event, then the stream ends.
      const api = e instanceof ShutdownAbort ? new ApiError(503, e.message, { type: 'service_unavailable', code: 'server_shutdown' }) : toApiError(e);
      sse.error(api);
      sse.end();
    }
  } catch (e) {
    if (reply.sent || reply.raw.headersSent) return;
    if (e instanceof ShutdownAbort) throw new ApiError(503, e.message, { type: 'service_unavailable', code: 'server_shutdown', retryAfterSeconds: 1 });
    throw e;
  } finally {
    release?.();
    inflight.delete(controller);
    reply.raw.off('close', onClose);
  }
}
