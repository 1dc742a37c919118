/**
 * OpenAI request fields -> the library's generation options. Defaults are the library's (Gemma's
 * recommended sampling: temperature 1, top_k 64, top_p 0.95) when a field is omitted or null.
 * Fields the engine cannot honour yet are refused with a 400 naming them, never ignored.
 */
import { GrammarError } from '../errors';
import { GENERATION_DEFAULTS, type GenerateOptions } from '../generation';
import { compileConstraint } from '../grammar';
import { ApiError, notSupported } from './errors';
import type { ChatCompletionBody, CompletionBody } from './schemas';

/** Server-wide limits a request is checked against before any work. */
export interface RequestLimits {
  /** Largest max_tokens a request may ask for (also the default when it asks for none). */
  maxTokens: number;
  /** Largest prompt + max_tokens. */
  maxContext: number;
}

/** How to run one request. */
export interface GenerationPlan {
  /** Generation options shared by every choice (each choice adds its own seed, state, signal). */
  options: GenerateOptions;
  /** Seed of choice 0 (choice i uses seed + i), when the request gave one. */
  seed: number | undefined;
  maxTokens: number;
  n: number;
  stream: boolean;
  includeUsage: boolean;
}

function refuseUnsupported(body: ChatCompletionBody | CompletionBody): void {
  if (body.frequency_penalty) throw notSupported('frequency_penalty', 'frequency_penalty (other than 0)');
  if (body.presence_penalty) throw notSupported('presence_penalty', 'presence_penalty (other than 0); repetition_penalty is');
}

/** Checks the sampling fields of either endpoint and resolves them for a prompt of `promptTokens`. */
export function generationPlan(body: ChatCompletionBody | CompletionBody, promptTokens: number, limits: RequestLimits, promptParam: string): GenerationPlan {
  refuseUnsupported(body);
  const chat = body as ChatCompletionBody;
  const asked = chat.max_completion_tokens ?? body.max_tokens ?? undefined;
  const askedParam = chat.max_completion_tokens != null ? 'max_completion_tokens' : 'max_tokens';
  if (asked !== undefined && asked > limits.maxTokens)
    throw new ApiError(400, `${askedParam} = ${asked} is more than this server allows (${limits.maxTokens})`, { param: askedParam, code: 'invalid_value' });
  const room = limits.maxContext - promptTokens;
  if (room < 1 || (asked !== undefined && asked > room))
    throw new ApiError(
      400,
      `This server's maximum context length is ${limits.maxContext} tokens. However, you requested ${promptTokens + (asked ?? 1)} tokens (${promptTokens} in the ${promptParam}, ${asked ?? 1} for the completion). Please reduce the length of the ${promptParam} or completion.`,
      { param: promptParam, code: 'context_length_exceeded' },
    );
  const maxTokens = asked ?? Math.min(limits.maxTokens, room);
  const d = GENERATION_DEFAULTS;
  const topK = body.top_k ?? d.topK;
  const stop = body.stop ?? undefined;
  const options: GenerateOptions = {
    maxTokens,
    temperature: body.temperature ?? d.temperature,
    topK: topK < 0 ? 0 : topK, // vLLM spells "no limit" -1
    topP: body.top_p ?? d.topP,
    minP: body.min_p ?? d.minP,
    repetitionPenalty: body.repetition_penalty ?? d.repetitionPenalty,
    ...(stop !== undefined ? { stop } : {}),
    ...(body.logit_bias && Object.keys(body.logit_bias).length > 0 ? { logitBias: body.logit_bias } : {}),
  };
  return {
    options,
    seed: body.seed ?? undefined,
    maxTokens,
    n: body.n ?? 1,
    stream: body.stream ?? false,
    includeUsage: body.stream_options?.include_usage ?? false,
  };
}

/**
 * response_format as a generation constraint: `json_schema` constrains the answer to JSON valid
 * against its schema, `json_object` to any JSON object. The schema is compiled here, before
 * admission, so a schema the engine cannot use is a 400 rather than an error mid-stream.
 */
export function responseFormatOptions(body: ChatCompletionBody): { jsonSchema?: object | boolean } {
  const f = body.response_format;
  if (!f || f.type === 'text') return {};
  const jsonSchema = f.type === 'json_object' ? { type: 'object' } : (f.json_schema?.schema ?? {});
  try {
    compileConstraint({ jsonSchema });
  } catch (e) {
    if (!(e instanceof GrammarError)) throw e;
    const param = f.type === 'json_object' ? 'response_format' : 'response_format.json_schema.schema';
    throw new ApiError(400, `${param}${e.location ? ` at ${e.location}` : ''}: ${e.message}`, { param, code: e.code });
  }
  return { jsonSchema };
}

/** Chat's logprobs fields as generation options (top_logprobs needs logprobs: true, as OpenAI requires). */
export function chatLogprobOptions(body: ChatCompletionBody): { logprobs?: boolean; topLogprobs?: number } {
  if (body.top_logprobs != null && !body.logprobs) throw new ApiError(400, 'top_logprobs needs logprobs: true', { param: 'top_logprobs', code: 'invalid_value' });
  return body.logprobs ? { logprobs: true, topLogprobs: body.top_logprobs ?? 0 } : {};
}

/** Completions' logprobs (the number of alternatives per position) as generation options. */
export function completionLogprobOptions(body: CompletionBody): { logprobs?: boolean; topLogprobs?: number } {
  if (body.logprobs == null) return {};
  if (body.echo) throw notSupported('logprobs', 'logprobs together with echo (log-probabilities of the prompt)');
  return { logprobs: true, topLogprobs: body.logprobs };
}

/** Chat-only fields that are not wired yet. */
export function refuseUnsupportedChat(body: ChatCompletionBody): void {
  if (body.stream_options && !body.stream) throw new ApiError(400, 'stream_options is only allowed when stream is true', { param: 'stream_options', code: 'invalid_value' });
}

/** Completion-only fields that are not wired yet. */
export function refuseUnsupportedCompletion(body: CompletionBody): void {
  if (body.stream_options && !body.stream) throw new ApiError(400, 'stream_options is only allowed when stream is true', { param: 'stream_options', code: 'invalid_value' });
}
