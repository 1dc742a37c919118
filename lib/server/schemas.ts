/**
 * JSON schemas of the request bodies, following OpenAI's API reference field by field (plus the
 * vLLM-style sampling extensions top_k, min_p, repetition_penalty). Unknown fields are refused
 * (`additionalProperties: false`), never silently dropped, so a client learns at once that a
 * setting it relies on is not honoured. Values the schema cannot express (e.g. model id, limits
 * that depend on server options) are checked by the routes.
 */

/** Numbers OpenAI accepts `null` for mean "default". */
const nullable = (type: string | string[], extra: Record<string, unknown> = {}) => ({ type: [...(Array.isArray(type) ? type : [type]), 'null'], ...extra });

/** The sampling and stopping fields shared by both endpoints. */
const sampling = {
  model: { type: 'string', minLength: 1 },
  max_tokens: nullable('integer', { minimum: 1 }),
  temperature: nullable('number', { minimum: 0, maximum: 2 }),
  top_p: nullable('number', { exclusiveMinimum: 0, maximum: 1 }),
  top_k: nullable('integer', { minimum: -1 }),
  min_p: nullable('number', { minimum: 0, exclusiveMaximum: 1 }),
  repetition_penalty: nullable('number', { exclusiveMinimum: 0 }),
  frequency_penalty: nullable('number', { minimum: -2, maximum: 2 }),
  presence_penalty: nullable('number', { minimum: -2, maximum: 2 }),
  seed: nullable('integer', { minimum: -9007199254740991, maximum: 9007199254740991 }),
  stop: { type: ['string', 'array', 'null'], items: { type: 'string', minLength: 1 }, maxItems: 4, minLength: 1 },
  n: nullable('integer', { minimum: 1, maximum: 128 }),
  stream: nullable('boolean'),
  stream_options: {
    type: ['object', 'null'],
    properties: { include_usage: { type: 'boolean' } },
    additionalProperties: false,
  },
  logit_bias: { type: ['object', 'null'], additionalProperties: { type: 'number', minimum: -100, maximum: 100 } },
  user: { type: 'string' },
} as const;

const textPart = {
  type: 'object',
  required: ['type', 'text'],
  properties: { type: { const: 'text' }, text: { type: 'string' } },
  additionalProperties: false,
} as const;

const message = {
  type: 'object',
  required: ['role', 'content'],
  properties: {
    role: { enum: ['system', 'developer', 'user', 'assistant'] },
    content: { type: ['string', 'array'], items: textPart },
  },
  additionalProperties: false,
} as const;

export const chatCompletionBodySchema = {
  type: 'object',
  required: ['model', 'messages'],
  properties: {
    ...sampling,
    messages: { type: 'array', minItems: 1, items: message },
    max_completion_tokens: nullable('integer', { minimum: 1 }),
    logprobs: nullable('boolean'),
    top_logprobs: nullable('integer', { minimum: 0, maximum: 20 }),
    response_format: {
      type: 'object',
      required: ['type'],
      properties: {
        type: { enum: ['text', 'json_object', 'json_schema'] },
        json_schema: {
          type: 'object',
          required: ['name'],
          properties: { name: { type: 'string', minLength: 1, maxLength: 64 }, description: { type: 'string' }, schema: { type: ['object', 'boolean'] }, strict: nullable('boolean') },
          additionalProperties: false,
        },
      },
      additionalProperties: false,
    },
  },
  additionalProperties: false,
} as const;

export const completionBodySchema = {
  type: 'object',
  required: ['model', 'prompt'],
  properties: {
    ...sampling,
    prompt: { type: ['string', 'array'], minLength: 1, minItems: 1, items: { type: 'integer', minimum: 0 } },
    /** Legacy completions: the number of most likely tokens to return per position. */
    logprobs: nullable('integer', { minimum: 0, maximum: 5 }),
    echo: nullable('boolean'),
    /** Extension (as vLLM's): the prompt's and each choice's token ids in the response / every stream chunk. */
    return_token_ids: nullable('boolean'),
  },
  additionalProperties: false,
} as const;

/** Chat message as the schema admits it. */
export interface ChatMessageBody {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string | { type: 'text'; text: string }[];
}

interface SamplingBody {
  model: string;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  min_p?: number | null;
  repetition_penalty?: number | null;
  frequency_penalty?: number | null;
  presence_penalty?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean } | null;
  logit_bias?: Record<string, number> | null;
  user?: string;
}

export interface ChatCompletionBody extends SamplingBody {
  messages: ChatMessageBody[];
  max_completion_tokens?: number | null;
  logprobs?: boolean | null;
  top_logprobs?: number | null;
  response_format?: { type: 'text' | 'json_object' | 'json_schema'; json_schema?: { name: string; description?: string; schema?: Record<string, unknown> | boolean; strict?: boolean | null } };
}

export interface CompletionBody extends SamplingBody {
  prompt: string | number[];
  logprobs?: number | null;
  echo?: boolean | null;
  return_token_ids?: boolean | null;
}
