/**
 * OpenAI chat messages -> the token ids of a Gemma conversation, rendered with the model's chat
 * template exactly as a ChatSession renders its first turn. Gemma's template has no system role:
 * leading system (or developer) messages are merged into the first user turn the way Hugging
 * Face's Gemma templates do it (system text, a blank line, then the user text).
 */
import { ChatTemplate, foldSystemPrompt, type ChatMessage } from '../chat';
import type { Tokenizer } from '../tokenizer';
import { ApiError } from './errors';
import type { ChatMessageBody } from './schemas';

/** A rendered conversation. */
export interface ChatPrompt {
  ids: number[];
  /**
   * Token counts at the ends of the earlier messages (where the rendering of messages[0..i] is a
   * prefix of the whole): states there are worth caching for conversations that branch.
   */
  boundaries: number[];
}

function text(content: ChatMessageBody['content']): string {
  return typeof content === 'string' ? content : content.map((p) => p.text).join('');
}

/** Messages with the system prompt merged and roles checked (alternating, starting and ending with user). */
export function gemmaMessages(messages: readonly ChatMessageBody[]): ChatMessage[] {
  const system: string[] = [];
  let i = 0;
  for (; i < messages.length && (messages[i]!.role === 'system' || messages[i]!.role === 'developer'); i++) system.push(text(messages[i]!.content));
  const out: ChatMessage[] = [];
  for (; i < messages.length; i++) {
    const m = messages[i]!;
    if (m.role === 'system' || m.role === 'developer')
      throw new ApiError(400, `messages[${i}]: a ${m.role} message is only allowed at the start of the conversation (Gemma has no system role; it is merged into the first user message)`, { param: `messages[${i}].role`, code: 'invalid_value' });
    const want = out.length % 2 === 0 ? 'user' : 'assistant';
    if (m.role !== want)
      throw new ApiError(400, `messages[${i}] has role "${m.role}" but the conversation must alternate user/assistant starting with user (after any system messages)`, { param: `messages[${i}].role`, code: 'invalid_value' });
    out.push({ role: m.role, content: text(m.content) });
  }
  if (out.length === 0) throw new ApiError(400, 'messages must contain a user message', { param: 'messages', code: 'invalid_value' });
  if (out[out.length - 1]!.role !== 'user')
    throw new ApiError(400, 'the last message must be from the user (the model answers it)', { param: `messages[${messages.length - 1}].role`, code: 'invalid_value' });
  // Several leading system messages are one system prompt; foldSystemPrompt() is the one place
  // that puts it into the first user turn (as ChatSession's systemPrompt does).
  return system.length > 0 ? foldSystemPrompt([{ role: 'system', content: system.join('\n\n') }, ...out]) : out;
}

/** Renders and tokenizes a conversation for generation. */
export function renderChat(template: ChatTemplate, tokenizer: Tokenizer, messages: readonly ChatMessageBody[]): ChatPrompt {
  const conversation = gemmaMessages(messages);
  const encode = (s: string) => {
    const ids = tokenizer.encode(s, { addBos: false });
    // A template without {{ bos_token }} still needs <bos> at the start (as ChatSession does).
    if (ids[0] !== tokenizer.bosId) ids.unshift(tokenizer.bosId);
    return ids;
  };
  const ids = encode(template.render(conversation, true));
  const boundaries: number[] = [];
  for (let k = 1; k < conversation.length; k++) {
    const prefix = encode(template.render(conversation.slice(0, k), false));
    if (prefix.length < ids.length && prefix.every((t, j) => ids[j] === t)) boundaries.push(prefix.length);
  }
  return { ids, boundaries };
}

/** The template a server renders with: the folder's chat_template, or Gemma's built-in format. */
export function serverTemplate(tokenizer: Tokenizer, source?: string): ChatTemplate {
  return new ChatTemplate(source ?? tokenizer.chatTemplate, tokenizer.bosToken);
}
