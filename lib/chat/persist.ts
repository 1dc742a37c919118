/**
 * Saving a ChatSession: its model state plus, in the state file's metadata, the plain data that
 * goes with it (history, tokens not consumed yet, the template). Restoring checks that metadata
 * as strictly as the state itself: anything malformed is a StateFormatError, never a session
 * whose history disagrees with its state.
 */
import { StateFormatError } from '../errors';
import { StateFormatCode } from '../state/format';
import { checkConversation, type ChatMessage } from './template';

/** The plain data of a session besides its model state: enough, with the state, to resume it. */
export interface ChatSessionData {
  history: ChatMessage[];
  /**
   * Conversation tokens the state has not consumed yet: the last reply's final sampled token,
   * unless it was a stop token such as `<end_of_turn>` (the template closes the turn instead).
   */
  pendingTokens: number[];
}

/** The metadata key under which a session's data is stored. */
export const CHAT_METADATA_KEY = 'recurrentgemma.chatSession';
export const CHAT_METADATA_VERSION = 1;

/** What a saved session carries besides the state. */
export interface SavedChatSession extends ChatSessionData {
  /** The Jinja chat template the session used (undefined: the built-in Gemma format). */
  template?: string;
}

/** The state-file metadata of a session. */
export function chatMetadata(data: SavedChatSession): Record<string, unknown> {
  return { [CHAT_METADATA_KEY]: { version: CHAT_METADATA_VERSION, history: data.history, pendingTokens: data.pendingTokens, ...(data.template === undefined ? {} : { template: data.template }) } };
}

/** Reads and validates a session's data from a state header's metadata. */
export function readChatMetadata(metadata: unknown, vocabSize: number): SavedChatSession {
  const raw = typeof metadata === 'object' && metadata !== null ? (metadata as Record<string, unknown>)[CHAT_METADATA_KEY] : undefined;
  if (raw === undefined) throw new StateFormatError('cannot restore chat session: the state was not saved from a chat session (no chat history in it)', StateFormatCode.NOT_A_CHAT);
  const bad = (what: string): never => {
    throw new StateFormatError(`cannot restore chat session: ${what}`, StateFormatCode.BAD_HEADER);
  };
  if (typeof raw !== 'object' || raw === null) return bad('its chat data is not an object');
  const o = raw as Record<string, unknown>;
  if (o.version !== CHAT_METADATA_VERSION) bad(`chat data version ${JSON.stringify(o.version)} is not supported (expected ${CHAT_METADATA_VERSION})`);
  let history: ChatMessage[];
  try {
    history = checkConversation(o.history, 'history');
  } catch (e) {
    return bad((e as Error).message);
  }
  if (history.length > 0 && history[history.length - 1]!.role === 'user') bad('history does not end with a reply');
  if (!Array.isArray(o.pendingTokens) || !o.pendingTokens.every((t: unknown) => Number.isInteger(t) && (t as number) >= 0 && (t as number) < vocabSize))
    bad('pendingTokens is not a list of token ids');
  if (o.template !== undefined && typeof o.template !== 'string') bad('template is not a string');
  return { history, pendingTokens: [...(o.pendingTokens as number[])], template: o.template as string | undefined };
}
