/**
 * Chat: Gemma's turn format and a session that keeps the model state between turns. Because the
 * state has a fixed size, a new turn only prefills its own text (the closing of the previous
 * reply, the user message and the model header); history is never run again.
 */
import { Template } from '@huggingface/jinja';

import { InvalidArgumentError, StateBusyError, TokenizerError } from './errors';
import { defaultStopTokens, generate, type GenerationHost } from './generation/generate';
import type { Completion, GenerateOptions, GenerationChunk } from './generation/options';
import { chatMetadata, type SavedChatSession } from './chat-persist';
import type { ModelState } from './state';
import type { Tokenizer } from './tokenizer';

/** Who wrote a message ('assistant' is rendered as Gemma's 'model' role). */
export type ChatRole = 'user' | 'assistant';

export interface ChatMessage {
  role: ChatRole;
  content: string;
}

/** Generation options of one chat turn (the session owns the state). */
export type ChatTurnOptions = Omit<GenerateOptions, 'state'>;

/** Options of createChatSession(). */
export interface ChatSessionOptions {
  /** Defaults for every turn (each prompt() call can override them). */
  generation?: ChatTurnOptions;
  /** A Jinja chat template to use instead of the folder's tokenizer_config.json chat_template. */
  template?: string;
}

/** The plain data of a session besides its model state: enough, with the state, to resume it. */
export interface ChatSessionData {
  history: ChatMessage[];
  /**
   * Conversation tokens the state has not consumed yet: the last reply's final sampled token,
   * unless it was a stop token such as `<end_of_turn>` (the template closes the turn instead).
   */
  pendingTokens: number[];
}

/** A reply: the whole text plus the counts of complete(). */
export type ChatReply = Completion;

/** Gemma's format, used when the folder has no chat_template. */
function gemmaFormat(messages: readonly ChatMessage[], addGenerationPrompt: boolean, bosToken: string): string {
  let out = bosToken;
  messages.forEach((m, i) => {
    if ((m.role === 'user') !== (i % 2 === 0)) throw new InvalidArgumentError('conversation roles must alternate user/assistant/user/assistant/...');
    out += `<start_of_turn>${m.role === 'assistant' ? 'model' : m.role}\n${m.content.trim()}<end_of_turn>\n`;
  });
  return addGenerationPrompt ? out + '<start_of_turn>model\n' : out;
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

  /** The text of a whole conversation, ending with the model's header when addGenerationPrompt. */
  render(messages: readonly ChatMessage[], addGenerationPrompt: boolean): string {
    if (!this.template) return gemmaFormat(messages, addGenerationPrompt, this.bosToken);
    try {
      return this.template.render({
        messages: messages.map((m) => ({ role: m.role, content: m.content })),
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
    const messages: ChatMessage[] = [...history, { role: 'user', content: user }];
    if (history.length === 0) return this.render(messages, true);
    const last = history.length - 1;
    if (history[last]!.role !== 'assistant') throw new InvalidArgumentError('the history must end with a reply before the next user turn');
    messages[last] = { role: 'assistant', content: REPLY_SENTINEL };
    const rendered = this.render(messages, true);
    const at = rendered.lastIndexOf(REPLY_SENTINEL);
    if (at < 0) throw new InvalidArgumentError('the chat template does not render the previous reply, so turns cannot be appended');
    return rendered.slice(at + REPLY_SENTINEL.length);
  }
}

/**
 * A conversation on one model state. Each prompt() prefills only the new turn; history() and
 * toJSON() expose the messages; reset() starts over.
 */
export class ChatSession {
  /** The model state holding the whole conversation so far. */
  readonly state: ModelState;
  readonly template: ChatTemplate;
  private readonly host: GenerationHost;
  private readonly tokenizer: Tokenizer;
  private readonly dir: string;
  private readonly defaults: ChatTurnOptions;
  private messages: ChatMessage[] = [];
  private pending: number[] = [];
  private busy = false;

  /** @internal Use model.createChatSession() or model.loadChatSession(). */
  constructor(host: GenerationHost, tokenizer: Tokenizer, dir: string, options: ChatSessionOptions = {}, restored?: { state: ModelState; data: SavedChatSession }) {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('chat session options must be an object');
    if (options.template !== undefined && typeof options.template !== 'string') throw new InvalidArgumentError('template must be a string');
    this.host = host;
    this.tokenizer = tokenizer;
    this.dir = dir;
    this.defaults = { ...(options.generation ?? {}) };
    this.template = new ChatTemplate(options.template ?? restored?.data.template ?? tokenizer.chatTemplate, tokenizer.bosToken);
    this.state = restored?.state ?? host.createState();
    if (restored) {
      this.messages = restored.data.history.map((m) => ({ ...m }));
      this.pending = [...restored.data.pendingTokens];
    }
  }

  /**
   * The session as bytes: its state (see state.serialize()) with the history, pending tokens and
   * template in the metadata. Restore with model.deserializeChatSession().
   */
  serialize(): Uint8Array {
    if (this.busy) throw new StateBusyError('the chat session is answering a prompt');
    return this.state.serialize({ metadata: chatMetadata({ ...this.toJSON(), template: this.template.source }) });
  }

  /** Writes serialize() to a file (atomically); restore with model.loadChatSession(file). */
  async save(file: string): Promise<void> {
    if (this.busy) throw new StateBusyError('the chat session is answering a prompt');
    await this.state.save(file, { metadata: chatMetadata({ ...this.toJSON(), template: this.template.source }) });
  }

  /** The messages so far (a copy). */
  get history(): ChatMessage[] {
    return this.messages.map((m) => ({ ...m }));
  }

  /** Tokens of the conversation not yet consumed by the state (see ChatSessionData). */
  get pendingTokens(): number[] {
    return [...this.pending];
  }

  /** The session's plain data (JSON-serialisable); the state is saved separately. */
  toJSON(): ChatSessionData {
    return { history: this.history, pendingTokens: this.pendingTokens };
  }

  /** The token ids the next turn would prefill for `text`. */
  turnTokens(text: string): number[] {
    if (typeof text !== 'string') throw new InvalidArgumentError('the chat message must be a string');
    const ids = this.tokenizer.encode(this.template.turnText(this.messages, text), { addBos: false });
    // A template without {{ bos_token }} still needs <bos> at the start of the sequence.
    if (this.state.position === 0 && this.pending.length === 0 && ids[0] !== this.tokenizer.bosId) ids.unshift(this.tokenizer.bosId);
    return [...this.pending, ...ids];
  }

  /** Sends a user message and streams the reply; history is updated when the stream ends. */
  async *promptStream(text: string, options: ChatTurnOptions = {}): AsyncGenerator<GenerationChunk, void, undefined> {
    if (this.busy) throw new StateBusyError('the chat session is already answering a prompt');
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
    if ('state' in options) throw new InvalidArgumentError('a chat turn always continues the session state; "state" is not an option here');
    const turnOptions: GenerateOptions = { ...this.defaults, ...options, state: this.state };
    const ids = this.turnTokens(text);
    const stream = generate(this.host, this.tokenizer, this.dir, ids, turnOptions);
    const stopTokens = new Set([...(turnOptions.stopTokens ?? []), ...(turnOptions.ignoreEos ? [] : defaultStopTokens(this.host, this.tokenizer))]);
    this.busy = true;
    const parts: string[] = [];
    let last: GenerationChunk | undefined;
    try {
      for await (const chunk of stream) {
        parts.push(chunk.text);
        last = chunk;
        yield chunk;
      }
    } finally {
      this.busy = false;
      // Record the turn once anything was generated (also when the consumer stopped early), so
      // history and pendingTokens always describe what the state has consumed.
      if (last !== undefined) {
        this.messages.push({ role: 'user', content: text }, { role: 'assistant', content: parts.join('') });
        const endedByStopToken = last.finishReason === 'stop' && stopTokens.has(last.token);
        this.pending = endedByStopToken ? [] : [last.token];
      }
    }
  }

  /** Sends a user message and resolves to the whole reply. */
  async prompt(text: string, options: ChatTurnOptions = {}): Promise<ChatReply> {
    const parts: string[] = [];
    const tokens: number[] = [];
    let last: GenerationChunk | undefined;
    for await (const chunk of this.promptStream(text, options)) {
      parts.push(chunk.text);
      tokens.push(chunk.token);
      last = chunk;
    }
    return { text: parts.join(''), tokens, finishReason: last!.finishReason!, promptTokens: last!.promptTokens!, generatedTokens: last!.generatedTokens! };
  }

  /** Forgets the conversation: empty history, state back to position 0. */
  reset(): void {
    if (this.busy) throw new StateBusyError('the chat session is answering a prompt');
    this.state.reset();
    this.messages = [];
    this.pending = [];
  }

  /** Frees the state now. */
  dispose(): void {
    this.state.dispose();
  }
}
