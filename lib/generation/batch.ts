/**
 * Several generations at once on one model: each request runs the ordinary decode loop (its own
 * sampling options, seed, stop tokens and strings, maxTokens, signal), while a ForwardBatcher
 * merges the loops' forward calls into one forwardBatch per step. A sequence that finishes drops
 * out and the others go on at the same pace; long prompts are prefilled in chunks between steps.
 */
import { InvalidArgumentError } from '../errors';
import { ForwardBatcher, type BatchForwardHost } from './batcher';
import { collectCompletion, generate, type ForwardFn, type GenerationHost, type GenerationModel, type Prompt } from './generate';
import type { Completion, GenerateOptions, GenerationChunk } from './options';

/** One request of generateBatch(): a prompt and options that override the shared ones. */
export interface BatchRequest {
  prompt: Prompt;
  options?: GenerateOptions;
}

/** Options of generateBatch(): shared generation options plus how to batch. */
export interface GenerateBatchOptions extends Omit<GenerateOptions, 'state' | 'onToken'> {
  /** Called with every chunk of every sequence and the index of its request. */
  onToken?: (chunk: GenerationChunk, index: number) => void;
  /** Most sequences per step (default 64); ignored when `batcher` is given. */
  maxBatch?: number;
  /** Longest piece of a prompt fed per step (default 64); ignored when `batcher` is given. */
  prefillChunk?: number;
  /** Run on this batcher, shared with other calls (continuous batching across requests). */
  batcher?: ForwardBatcher;
}

/** What generateBatch needs of a model (RecurrentGemma implements it). */
export type BatchGenerationModel = GenerationModel & BatchForwardHost;

/** A generation host whose model can also run batched steps. */
export interface BatchGenerationHost extends GenerationHost {
  readonly model: BatchGenerationModel;
}

function isPrompt(v: unknown): v is Prompt {
  return typeof v === 'string' || Array.isArray(v) || v instanceof Int32Array;
}

/** Runs every request to completion; resolves to their completions in request order. */
export async function generateBatch(
  host: BatchGenerationHost,
  requests: readonly (Prompt | BatchRequest)[],
  options: GenerateBatchOptions = {},
): Promise<Completion[]> {
  if (!Array.isArray(requests)) throw new InvalidArgumentError('generateBatch needs an array of prompts or { prompt, options } requests');
  if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
  if ('state' in options) throw new InvalidArgumentError('"state" is a per-request option in generateBatch ({ prompt, options: { state } })');
  const { onToken, maxBatch, prefillChunk, batcher: given, ...shared } = options;
  if (onToken !== undefined && typeof onToken !== 'function') throw new InvalidArgumentError('onToken must be a function');
  if (given !== undefined && !(given instanceof ForwardBatcher)) throw new InvalidArgumentError('batcher must be a ForwardBatcher');
  const batcher = given ?? new ForwardBatcher(host.model, { maxBatch, prefillChunk });
  const forward: ForwardFn = (state, ids) => batcher.enqueue(state, ids);
  // Validate every request before any of them starts.
  const runs = requests.map((r, i) => {
    const req: BatchRequest = isPrompt(r) ? { prompt: r } : (r as BatchRequest);
    if (typeof req !== 'object' || req === null || !isPrompt(req.prompt)) throw new InvalidArgumentError(`requests[${i}] must be a prompt or { prompt, options }`);
    const own = req.options ?? {};
    if (typeof own !== 'object' || own === null) throw new InvalidArgumentError(`requests[${i}].options must be an object`);
    const perRequest = own.onToken;
    const merged: GenerateOptions = {
      ...shared,
      ...own,
      ...(onToken || perRequest
        ? {
            onToken: (chunk: GenerationChunk) => {
              perRequest?.(chunk);
              onToken?.(chunk, i);
            },
          }
        : {}),
    };
    return generate(host, req.prompt, merged, forward); // validates now, runs when consumed
  });
  const settled = await Promise.allSettled(runs.map(collectCompletion));
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<Completion>).value);
}
