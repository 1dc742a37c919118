/**
 * A chat session that keeps the model state between turns. Because the state has a fixed size, a
 * new turn only prefills its own text (the closing of the previous reply, the user message and
 * the model header); history is never run again.
 */
import '../dispose'; // Symbol.dispose on runtimes without it
import { DisposedError, InvalidArgumentError, StateBusyError } from '../errors';
import { collectCompletion, defaultStopTokens, generate, PREFILL_ROUND_TOKENS, type GenerationHost } from '../generation/generate';
import { resolveGenerateOptions, type Completion, type GenerateOptions, type GenerationChunk, type GenerationEnd } from '../generation/options';
import type { ModelState } from '../state/state';
import type { Tokenizer } from '../tokenizer';
import { chatMetadata, type ChatSessionData, type SavedChatSession } from './persist';
import { ChatTemplate, checkConversation, type ChatMessage } from './template';

/** Generation options of one chat turn (the session owns the state). */
export type ChatTurnOptions = Omit<GenerateOptions, 'state'>;

/** Options of createChatSession(). */
export interface ChatSessionOptions {
  /** Defaults for every turn (each prompt() call can override them). */
  generation?: ChatTurnOptions;
  /** A Jinja chat template to use instead of the folder's tokenizer_config.json chat_template. */
  template?: string;
  /**
   * Instructions for the whole conversation, kept across reset(). Gemma has no system role: the
   * text goes at the start of the first user turn, followed by a blank line (foldSystemPrompt()).
   * history() lists it as a first { role: 'system' } message.
   */
  systemPrompt?: string;
  /**
   * Start from an existing conversation: an optional system message, then user/assistant
   * messages alternating, ending with an assistant reply. It is prefilled with the first prompt.
   */
  history?: readonly ChatMessage[];
}

/** The keys ChatSessionOptions has: anything else is a typo the caller should hear about. */
const CHAT_SESSION_OPTION_KEYS: ReadonlySet<string> = new Set(['generation', 'template', 'systemPrompt', 'history']);

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
    if (options.systemPrompt !== undefined && (typeof options.systemPrompt !== 'string' || options.systemPrompt.length === 0))
      throw new InvalidArgumentError('systemPrompt must be a non-empty string');
    let given = options.history === undefined ? undefined : checkConversation(options.history, 'history');
    if (given !== undefined && given.length > 0 && given[given.length - 1]!.role !== 'assistant')
      throw new InvalidArgumentError('history must end with an assistant reply (send the last user message with prompt())');
    if (restored && given !== undefined) throw new InvalidArgumentError('a restored session has its own history; "history" is not an option here');
    const { tokenizer } = host;
    this.host = host;
    this.tokenizer = tokenizer;
    this.defaults = { ...(options.generation ?? {}) };
    this.template = new ChatTemplate(options.template ?? restored?.data.template ?? tokenizer.chatTemplate, tokenizer.bosToken);
    if (options.systemPrompt !== undefined) {
      const current = given ?? restored?.data.history ?? [];
      if (current[0]?.role === 'system') throw new InvalidArgumentError('give the system prompt once: systemPrompt, or a system message first in the history');
      if (restored && current.length > 0) throw new InvalidArgumentError('systemPrompt cannot be added to a restored conversation that has started');
      given = [{ role: 'system', content: options.systemPrompt }, ...(given ?? [])];
    }
    if (given?.some((m) => m.role !== 'system')) this.template.historyText(given); // a template that cannot continue it fails now
    this.state = restored?.state ?? host.model.createState();
    if (restored) {
      this.messages = restored.data.history.map((m) => ({ ...m }));
      this.pending = [...restored.data.pendingTokens];
      if (given !== undefined) this.messages = given; // a system prompt for a restored session that has not started
    } else if (given !== undefined) {
      this.messages = given;
      // The given conversation is prefilled lazily, with the first prompt (which can be aborted).
      if (given.some((m) => m.role !== 'system')) this.pending = this.startWithBos(this.template.historyTokens(given, this.tokenizer));
    }
  }

  /** Ids that start the sequence get `<bos>` first, also when the template has no {{ bos_token }}. */
  private startWithBos(ids: number[]): number[] {
    if (ids[0] !== this.tokenizer.bosId) ids.unshift(this.tokenizer.bosId);
    return ids;
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
    if (this.state.disposed) throw new DisposedError('chat session');
    const ids = this.template.turnTokens(this.messages, text, this.tokenizer);
    // A template without {{ bos_token }} still needs <bos> at the start of the sequence.
    if (this.state.position === 0 && this.pending.length === 0) this.startWithBos(ids);
    return [...this.pending, ...ids];
  }

  /**
   * Sends a user message and streams the reply; history is updated when the stream ends. Abort
   * (options.signal) behaves as in generate(): the reply so far is kept as the turn's reply; a turn
   * aborted before its first token leaves the session as it was (state, history and all).
   */
  async *promptStream(text: string, options: ChatTurnOptions = {}): AsyncGenerator<GenerationChunk, GenerationEnd, undefined> {
    if (this.busy) throw new StateBusyError('the chat session is already answering a prompt');
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options must be an object');
    if ('state' in options) throw new InvalidArgumentError('a chat turn always continues the session state; "state" is not an option here');
    const turnOptions: GenerateOptions = { ...this.defaults, ...options, state: this.state };
    const ids = this.turnTokens(text);
    const stream = generate(this.host, ids, turnOptions);
    const stopTokens = new Set([...(turnOptions.stopTokens ?? []), ...(turnOptions.ignoreEos ? [] : defaultStopTokens(this.host))]);
    // Only an abort between prefill rounds (a turn longer than one round) ends a turn before its
    // first token with the state part-way through it; a copy taken first puts it back.
    const signal = turnOptions.signal;
    const before = signal !== undefined && !signal.aborted && ids.length > PREFILL_ROUND_TOKENS ? this.state.clone() : undefined;
    this.busy = true;
    const parts: string[] = [];
    let last: GenerationChunk | undefined;
    let finished = false;
    try {
      for (let r = await stream.next(); ; r = await stream.next()) {
        if (r.done) {
          finished = true;
          return r.value;
        }
        parts.push(r.value.text);
        last = r.value;
        yield r.value;
      }
    } finally {
      if (!finished) await stream.return(undefined as unknown as GenerationEnd); // the consumer stopped early: end the generation too
      this.busy = false;
      // Record the turn once anything was generated (also when the consumer stopped early), so
      // history and pendingTokens always describe what the state has consumed.
      if (last !== undefined) {
        this.messages.push({ role: 'user', content: text }, { role: 'assistant', content: parts.join('') });
        const endedByStopToken = last.finishReason === 'stop' && stopTokens.has(last.token);
        this.pending = endedByStopToken ? [] : [last.token];
      } else if (before !== undefined && !this.state.disposed && before.position !== this.state.position) {
        this.state.copyFrom(before);
      }
      before?.dispose();
    }
  }

  /** Sends a user message and resolves to the whole reply. */
  async prompt(text: string, options: ChatTurnOptions = {}): Promise<ChatReply> {
    return collectCompletion(this.promptStream(text, options));
  }

  /** Forgets the conversation (the system prompt stays): state back to position 0. */
  reset(): void {
    if (this.busy) throw new StateBusyError('the chat session is answering a prompt');
    this.state.reset();
    this.messages = this.messages.filter((m) => m.role === 'system');
    this.pending = [];
  }

  /** True once dispose() was called (or the model that made it was disposed). */
  get disposed(): boolean {
    return this.state.disposed;
  }

  /** Frees the state now; prompts afterwards throw DisposedError. */
  dispose(): void {
    this.state.dispose();
  }

  /** dispose(), for `using chat = model.createChatSession()`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /** dispose(), for `await using`. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.dispose();
  }
}
