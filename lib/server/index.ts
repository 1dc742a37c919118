/** The OpenAI-compatible server (recurrentgemma serve), as a library. */
export { createServer, serve, type ServerOptions, type ListenOptions, type RecurrentGemmaServer } from './app';
export { ApiError, type ApiErrorBody, type ApiErrorType } from './errors';
export { type RedisTierOptions } from './redis-tier';
export { type LogFn } from './log';
