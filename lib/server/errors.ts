/**
 * Errors of the HTTP API in OpenAI's shape: `{ "error": { "message", "type", "param", "code" } }`
 * with the matching status. Library errors (bad token ids, template failures...) map onto it here,
 * in one place, so every route answers failures the same way.
 */
import { GrammarError, InvalidArgumentError, RecurrentGemmaError, TokenizerError } from '../errors';

/** OpenAI's error `type`s used by this server. */
export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'not_found_error' | 'rate_limit_error' | 'server_error' | 'service_unavailable';

/** The body of an error response. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** A request that fails with an HTTP status and an OpenAI-shaped body. */
export class ApiError extends RecurrentGemmaError {
  readonly status: number;
  readonly type: ApiErrorType;
  readonly param: string | null;
  readonly apiCode: string | null;
  /** Sent as the Retry-After header (429 / 503). */
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, message: string, details: { type?: ApiErrorType; param?: string | null; code?: string | null; retryAfterSeconds?: number } = {}) {
    super(message, 'ERR_RG_HTTP');
    this.status = status;
    this.type = details.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error');
    this.param = details.param ?? null;
    this.apiCode = details.code ?? null;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.apiCode } };
  }
}

/** A request field the server understands but cannot honour yet (400 naming the field). */
export function notSupported(param: string, what = param): ApiError {
  return new ApiError(400, `${what} is not supported yet by this server`, { param, code: 'unsupported_parameter' });
}

/** One ajv error as fastify reports it. */
interface ValidationItem {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** "/messages/0/role" -> "messages[0].role". */
function fieldPath(instancePath: string, child?: string): string {
  const parts = instancePath.split('/').filter((p) => p.length > 0);
  if (child !== undefined) parts.push(child);
  return parts.reduce((out, p) => (/^\d+$/.test(p) ? `${out}[${p}]` : out ? `${out}.${p}` : p), '');
}

/** Maps a body-validation failure (ajv, via fastify) onto a 400 naming the field. */
export function fromValidation(items: readonly ValidationItem[]): ApiError {
  const e = items[0];
  if (!e) return new ApiError(400, 'invalid request body', { code: 'invalid_value' });
  if (e.keyword === 'additionalProperties') {
    const field = fieldPath(e.instancePath, String(e.params.additionalProperty));
    return new ApiError(400, `Unrecognized request argument supplied: ${field}`, { param: field, code: 'unknown_parameter' });
  }
  if (e.keyword === 'required') {
    const field = fieldPath(e.instancePath, String(e.params.missingProperty));
    return new ApiError(400, `Missing required parameter: '${field}'`, { param: field, code: 'missing_required_parameter' });
  }
  const field = fieldPath(e.instancePath);
  const detail =
    e.keyword === 'enum'
      ? `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
      : e.keyword === 'type'
        ? `must be of type ${String(e.params.type).split(',').join(' or ')}`
        : (e.message ?? 'is invalid');
  return new ApiError(400, `Invalid value for '${field || 'body'}': ${detail}`, { param: field || null, code: e.keyword === 'type' ? 'invalid_type' : 'invalid_value' });
}

/** fastify's own request errors, renamed like OpenAI's codes. */
const FASTIFY_CODES: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'request_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
};

/** Any error thrown while serving a request, as an ApiError. */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof InvalidArgumentError || e instanceof TokenizerError || e instanceof GrammarError) return new ApiError(400, e.message, { code: e.code });
  const fastifyError = e as { statusCode?: unknown; code?: unknown; message?: unknown; validation?: unknown };
  if (Array.isArray(fastifyError.validation)) return fromValidation(fastifyError.validation as ValidationItem[]);
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const message = status === 413 ? 'the request body is larger than this server accepts' : String(fastifyError.message);
    const code = typeof fastifyError.code === 'string' ? (FASTIFY_CODES[fastifyError.code] ?? fastifyError.code) : null;
    return new ApiError(status, message, { code });
  }
  const message = e instanceof Error ? e.message : String(e);
  return new ApiError(500, `internal error: ${message}`, { type: 'server_error', code: e instanceof RecurrentGemmaError ? e.code : null });
}
