/** Chat: templates (template.ts), the session (session.ts) and its saved form (persist.ts). */
export { ChatTemplate, foldSystemPrompt, checkConversation, type ChatMessage, type ChatRole } from './template';
export { ChatSession, type ChatReply, type ChatSessionOptions, type ChatTurnOptions } from './session';
export { chatMetadata, readChatMetadata, CHAT_METADATA_KEY, CHAT_METADATA_VERSION, type ChatSessionData, type SavedChatSession } from './persist';
