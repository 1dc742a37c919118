/**
 * A chat session that keeps the model state between turns. Because the state has a fixed size, a
 * new turn only prefills its own text (the closing of the previous reply, the user message and
 * the model header); history is never run again.
 */
import { InvalidArgumentError, StateBusyError } from '../errors';
import { collectCompletion, defaultStopTokens, generate, type GenerationHost } from '../generation/generate';
import { resolveGenerateOptions, type Completion, type GenerateOptions, type GenerationChunk } from '../generation/options';
import type { ModelState } from '../state/state';
import type { Tokenizer } from '../tokenizer';
import { chatMetadata, type ChatSessionData, type SavedChatSession } from './persist';
import { ChatTemplate, type ChatMessage } from './template';

/** Generation options of one chat turn (the session owns the state). */
export type ChatTurnOptions = Omit<GenerateOptions, 'state'>;

/** Options of createChatSession(). */
export interface ChatSessionOptions {
  /** Defaults for every turn (each prompt() call can override them). */
  generation?: ChatTurnOptions;
  /** A Jinja chat template to use instead of the folder's tokenizer_config.json chat_template. */
  template?: string;
}

/** The keys ChatSessionOptions has: anything else is a typo the caller should hear about. */
const CHAT_SESSION_OPTION_KEYS: ReadonlySet<string> = new Set(['generation', 'template']);

/** A reply: the whole text plus the counts of complete(). */
export type ChatReply = Completion;

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
  private readonly defaults: ChatTurnOptions;
  private messages: ChatMessage[] = [];
  private pending: number[] = [];
  private busy = false;

  /** @internal Use model.createChatSession() or model.loadChatSession(). */
  constructor(host: GenerationHost & { readonly tokenizer: Tokenizer }, options: ChatSessionOptions = {}, restored?: { state: ModelState; data: SavedChatSession }) {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw new InvalidArgumentError('chat session options must be an object');
    for (const key of Object.keys(options))
      if (!CHAT_SESSION_OPTION_KEYS.has(key))
        throw new InvalidArgumentError(`unknown chat session option "${key}" (known: ${[...CHAT_SESSION_OPTION_KEYS].join(', ')})`);
    if (options.generation !== undefined) {
      if (typeof options.generation !== 'object' || options.generation === null || Array.isArray(options.generation))
        throw new InvalidArgumentError('generation must be an object of generation options');
      if ('state' in options.generation) throw new InvalidArgumentError('a chat session owns its state; "state" is not a generation option here');
      // Checked now rather than at the first prompt, where the mistake would be far from its cause.
      resolveGenerateOptions(options.generation, host.model.config.vocabSize);
    }
    if (options.template !== undefined && typeof options.template !== 'string') throw new InvalidArgumentError('template must be a string');
    const { tokenizer } = host;
    this.host = host;
    this.tokenizer = tokenizer;
    this.defaults = { ...(options.generation ?? {}) };
    this.template = new ChatTemplate(options.template ?? restored?.data.template ?? tokenizer.chatTemplate, tokenizer.bosToken);
    this.state = restored?.state ?? host.model.createState();
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
    const ids = this.template.turnTokens(this.messages, text, this.tokenizer);
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
    const stream = generate(this.host, ids, turnOptions);
    const stopTokens = new Set([...(turnOptions.stopTokens ?? []), ...(turnOptions.ignoreEos ? [] : defaultStopTokens(this.host))]);
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
    return collectCompletion(this.promptStream(text, options));
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
