/**
 * Token log-probabilities in OpenAI's two response shapes: chat's `logprobs.content` entries
 * (`{ token, logprob, bytes, top_logprobs }`) and legacy completions' parallel arrays
 * (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`). The numbers come from the
 * generation loop (log-softmax of the logits the sampler saw, before temperature and filters).
 */
import type { GenerationChunk, TokenLogprob } from '../generation';

/** The text of one token id, decoded alone. */
export type TokenText = (id: number) => string;

/** One chat `logprobs.content` entry. */
export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

const bytesOf = (s: string) => Array.from(Buffer.from(s, 'utf8'));

/** A chunk's or completion entry's logprob data, or undefined when it has none. */
export function entryOf(c: Pick<GenerationChunk, 'token' | 'logprob' | 'topLogprobs'>): TokenLogprob | undefined {
  return c.logprob === undefined ? undefined : { token: c.token, logprob: c.logprob, ...(c.topLogprobs ? { topLogprobs: c.topLogprobs } : {}) };
}

export function chatLogprob(e: TokenLogprob, text: TokenText): ChatLogprob {
  const token = text(e.token);
  return {
    token,
    logprob: e.logprob,
    bytes: bytesOf(token),
    top_logprobs: (e.topLogprobs ?? []).map((t) => ({ token: t.text || text(t.id), logprob: t.logprob, bytes: bytesOf(t.text || text(t.id)) })),
  };
}

/** Legacy completions logprobs of `entries`, whose text starts at character `offset`. */
export function completionLogprobs(entries: readonly TokenLogprob[], text: TokenText, offset: number) {
  const tokens: string[] = [];
  const textOffset: number[] = [];
  let at = offset;
  for (const e of entries) {
    const t = text(e.token);
    tokens.push(t);
    textOffset.push(at);
    at += t.length;
  }
  return {
    tokens,
    token_logprobs: entries.map((e) => e.logprob),
    top_logprobs: entries.map((e) => Object.fromEntries((e.topLogprobs ?? []).map((t) => [t.text || text(t.id), t.logprob]))),
    text_offset: textOffset,
  };
}
