/**
 * Chat templates: Gemma's turn format, or the folder's Jinja chat_template, rendered for a whole
 * conversation or for just the text one new user turn adds, as text or as token ids. In token ids
 * the template's control tokens (CONTROL_TOKENS) are single ids and what users wrote is text.
 */
import { randomUUID } from 'crypto';

import { Template } from '@huggingface/jinja';

import { InvalidArgumentError, TokenizerError } from '../errors';
import { CONTROL_TOKENS, type Tokenizer } from '../tokenizer';

/**
 * Who wrote a message ('assistant' is rendered as Gemma's 'model' role; 'system' is folded into
 * the first user turn, see foldSystemPrompt()).
 */
export type ChatRole = 'system' | 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/**
 * Checks a conversation: an array of { role, content } with string content, an optional system
 * message first, then user and assistant messages alternating from a user message. Returns
 * copies. `what` names the value in errors (e.g. 'history').
 */
export function checkConversation(messages: unknown, what: string): ChatMessage[] {
  if (!Array.isArray(messages)) throw new InvalidArgumentError(`${what} must be an array of { role, content } messages`);
  const system = messages.length > 0 && (messages[0] as { role?: unknown } | null)?.role === 'system' ? 1 : 0;
  return messages.map((m: unknown, i: number) => {
    const r = m as Record<string, unknown> | null;
    if (typeof r !== 'object' || r === null || Array.isArray(r)) throw new InvalidArgumentError(`${what}[${i}] must be a { role, content } object`);
    const want: ChatRole = i < system ? 'system' : (i - system) % 2 === 0 ? 'user' : 'assistant';
    if (r.role !== want) {
      const why = r.role === 'system' ? 'only the first message may be a system message' : 'roles must alternate user/assistant/user/... (after an optional system message)';
      throw new InvalidArgumentError(`${what}[${i}] must be a ${want} message, got role ${JSON.stringify(r.role)}: ${why}`);
    }
    if (typeof r.content !== 'string') throw new InvalidArgumentError(`${what}[${i}].content must be a string`);
    return { role: want, content: r.content };
  });
}

/**
 * The one way a system prompt reaches a Gemma model. Gemma's chat format has no system role
 * (Google's and Hugging Face's Gemma templates raise an error on one); the common practice, which
 * llama.cpp and Ollama follow for Gemma, is to put the system text at the start of the first user
 * turn, separated by a blank line. So [system S, user U, ...] becomes [user "S\n\nU", ...];
 * conversations without a system message are returned unchanged (as a copy).
 */
export function foldSystemPrompt(messages: readonly ChatMessage[]): ChatMessage[] {
  const out = messages.map((m) => ({ ...m }));
  if (out.length === 0 || out[0]!.role !== 'system') return out;
  const [system, first, ...rest] = out;
  if (first === undefined || first.role !== 'user') throw new InvalidArgumentError('a system message must be followed by a user message');
  return [{ role: 'user', content: `${system!.content}\n\n${first.content}` }, ...rest];
}

/** Gemma's format, used when the folder has no chat_template. */
function gemmaFormat(messages: readonly ChatMessage[], addGenerationPrompt: boolean, bosToken: string): string {
  let out = bosToken;
  messages.forEach((m, i) => {
    if ((m.role === 'user') !== (i % 2 === 0)) throw new InvalidArgumentError('conversation roles must alternate user/assistant/user/assistant/...');
    out += `${CONTROL_TOKENS.startOfTurn}${m.role === 'assistant' ? 'model' : m.role}\n${m.content.trim()}${CONTROL_TOKENS.endOfTurn}\n`;
  });
  return addGenerationPrompt ? `${out}${CONTROL_TOKENS.startOfTurn}model\n` : out;
}

/**
 * Stands for a control-token name written inside a message while the template renders, so that
 * only the template's own markers are control tokens afterwards. Random per process: message text
 * cannot contain it by accident, and nobody outside this process ever sees it.
 */
const ESCAPE = `\u2063rg-${randomUUID()}-`;
const ESCAPED = new RegExp(`${ESCAPE}(\\d+)\u2063`, 'g');

/** Escapes the control-token names in message contents and maps rendered text segments back. */
class ContentEscaper {
  private readonly names: string[];
  constructor(tokenizer: Tokenizer) {
    this.names = [...tokenizer.controlTokens.keys()];
  }

  escape(text: string): string {
    let out = text;
    this.names.forEach((name, i) => {
      out = out.split(name).join(`${ESCAPE}${i}\u2063`);
    });
    return out;
  }

  readonly restore = (segment: string): string => segment.replace(ESCAPED, (_m, i: string) => this.names[Number(i)]!);

  messages(messages: readonly ChatMessage[]): ChatMessage[] {
    return messages.map((m) => ({ ...m, content: this.escape(m.content) }));
  }
}

/** Marks where the previous reply's content goes, to cut the template output right after it. */
const REPLY_SENTINEL = '\u2063RG_PREVIOUS_REPLY\u2063';

/** Renders conversations with the folder's Jinja chat template, or Gemma's format without one. */
export class ChatTemplate {
  /** The Jinja source, or undefined for the built-in Gemma format. */
  readonly source: string | undefined;
  private readonly bosToken: string;
  private readonly template: Template | undefined;

  constructor(source: string | undefined, bosToken: string) {
    this.source = source;
    this.bosToken = bosToken;
    if (source !== undefined) {
      try {
        this.template = new Template(source);
      } catch (e) {
        throw new TokenizerError(`the chat template does not parse: ${(e as Error).message}`, 'ERR_RG_CHAT_TEMPLATE');
      }
    }
  }

  /**
   * The text of a whole conversation, ending with the model's header when addGenerationPrompt.
   * A system message is folded into the first user turn first (foldSystemPrompt()).
   */
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
    const folded = foldSystemPrompt(messages);
    if (!this.template) return gemmaFormat(folded, addGenerationPrompt, this.bosToken);
    try {
      return this.template.render({
        messages: folded.map((m) => ({ role: m.role, content: m.content })),
        bos_token: this.bosToken,
        add_generation_prompt: addGenerationPrompt,
      });
    } catch (e) {
      throw new InvalidArgumentError(`the chat template rejected the conversation: ${(e as Error).message}`);
    }
  }

  /**
   * The text a new user turn adds after `history` (empty, or ending with the model's reply): the
   * template's closing of that reply, the user message and the model header. The reply itself is
   * not included: the state already consumed it as generated.
   */
  turnText(history: readonly ChatMessage[], user: string): string {
    return this.turnTextOf([...history], user);
  }

  /**
   * Token ids of a whole conversation (see render()): the template's control tokens become their
   * ids, looked up by name in the vocabulary; message contents are always text, so a message that
   * contains `<start_of_turn>` cannot open a turn of its own.
   */
  encode(messages: readonly ChatMessage[], addGenerationPrompt: boolean, tokenizer: Tokenizer): number[] {
    const escaper = new ContentEscaper(tokenizer);
    return tokenizer.encodeControlled(this.render(escaper.messages(messages), addGenerationPrompt), escaper.restore);
  }

  /** Token ids of turnText(), with control tokens and message text told apart as in encode(). */
  turnTokens(history: readonly ChatMessage[], user: string, tokenizer: Tokenizer): number[] {
    const escaper = new ContentEscaper(tokenizer);
    return tokenizer.encodeControlled(this.turnTextOf(escaper.messages(history), escaper.escape(user)), escaper.restore);
  }

  /** Token ids of historyText(), with control tokens and message text told apart as in encode(). */
  historyTokens(history: readonly ChatMessage[], tokenizer: Tokenizer): number[] {
    const escaper = new ContentEscaper(tokenizer);
    return tokenizer.encodeControlled(this.historyText(escaper.messages(history)), escaper.restore);
  }

  private turnTextOf(history: ChatMessage[], user: string): string {
    const messages: ChatMessage[] = [...history, { role: 'user', content: user }];
    if (history.every((m) => m.role === 'system')) return this.render(messages, true); // the first turn
    const last = history.length - 1;
    if (history[last]!.role !== 'assistant') throw new InvalidArgumentError('the history must end with a reply before the next user turn');
    messages[last] = { role: 'assistant', content: REPLY_SENTINEL };
    const rendered = this.render(messages, true);
    const at = rendered.lastIndexOf(REPLY_SENTINEL);
    if (at < 0) throw new InvalidArgumentError('the chat template does not render the previous reply, so turns cannot be appended');
    return rendered.slice(at + REPLY_SENTINEL.length);
  }

  /**
   * The text a state must consume to continue `history` (ending with a reply) as if the
   * conversation had happened on it: everything up to the end of the last reply's content, not
   * its closing (turnText() adds that with the next user turn, as after a generated reply).
   */
  historyText(history: readonly ChatMessage[]): string {
    const last = history.length - 1;
    if (last < 0 || history[last]!.role !== 'assistant') throw new InvalidArgumentError('the history must end with a reply (an assistant message)');
    const messages = [...history];
    messages[last] = { role: 'assistant', content: REPLY_SENTINEL };
    const rendered = this.render(messages, false);
    const at = rendered.lastIndexOf(REPLY_SENTINEL);
    if (at < 0) throw new InvalidArgumentError('the chat template does not render the last reply, so the conversation cannot be continued');
    return rendered.slice(0, at) + history[last]!.content;
  }
}
