/**
 * Error shapes and codes of the server, as the official `openai` client and raw HTTP see them:
 * OpenAI's `{ error: { message, type, param, code } }` with 400 (every field validated, unknown
 * fields named), 401, 404, 413, 429 + Retry-After, and refusal of over-long requests up front.
 */
import * as net from 'net';

import { RecurrentGemma, createServer } from '../lib';
import { clientFor, health, postJson, startServer, waitFor, type TestServer } from './helpers/server';

let model: RecurrentGemma;
let s: TestServer;
const MODEL = 'tiny-python';
const user = [{ role: 'user', content: 'import os' }];

beforeAll(async () => {
  model = await RecurrentGemma.load(undefined, { threads: 1 });
  s = await startServer(model, { maxTokens: 64, maxContext: 200 });
});

afterAll(async () => {
  await s?.close();
  model?.dispose();
});

function expectOpenAIError(json: any, param: string | null, code?: string | null) {
  expect(Object.keys(json)).toEqual(['error']);
  expect(Object.keys(json.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  expect(typeof json.error.message).toBe('string');
  expect(json.error.param).toBe(param);
  if (code !== undefined) expect(json.error.code).toBe(code);
}

describe('400: every field validated', () => {
  const chat = (body: unknown) => postJson(`${s.url}/v1/chat/completions`, body);

  test.each([
    [{ model: MODEL, messages: user, frobnicate: 1 }, 'frobnicate', 'unknown_parameter'],
    [{ model: MODEL, messages: [{ role: 'user', content: 'x', name: 'bob' }] }, 'messages[0].name', 'unknown_parameter'],
    [{ model: MODEL, messages: user, stream_options: { include_usage: true, extra: 1 } }, 'stream_options.extra', 'unknown_parameter'],
    [{ model: MODEL }, 'messages', 'missing_required_parameter'],
    [{ messages: user }, 'model', 'missing_required_parameter'],
    [{ model: MODEL, messages: [] }, 'messages', 'invalid_value'],
    [{ model: MODEL, messages: [{ role: 'robot', content: 'x' }] }, 'messages[0].role', 'invalid_value'],
    [{ model: MODEL, messages: user, temperature: 'hot' }, 'temperature', 'invalid_type'],
    [{ model: MODEL, messages: user, temperature: 3 }, 'temperature', 'invalid_value'],
    [{ model: MODEL, messages: user, top_p: 0 }, 'top_p', 'invalid_value'],
    [{ model: MODEL, messages: user, max_tokens: 0 }, 'max_tokens', 'invalid_value'],
    [{ model: MODEL, messages: user, max_tokens: 1.5 }, 'max_tokens', 'invalid_type'],
    [{ model: MODEL, messages: user, n: 0 }, 'n', 'invalid_value'],
    [{ model: MODEL, messages: user, stop: ['a', 'b', 'c', 'd', 'e'] }, 'stop', 'invalid_value'],
    [{ model: MODEL, messages: user, stop: [''] }, 'stop[0]', 'invalid_value'],
    [{ model: MODEL, messages: user, seed: '1' }, 'seed', 'invalid_type'],
    [{ model: MODEL, messages: user, stream: 'yes' }, 'stream', 'invalid_type'],
    [{ model: MODEL, messages: user, response_format: { type: 'json_schema', json_schema: { schema: {} } } }, 'response_format.json_schema.name', 'missing_required_parameter'],
    [{ model: MODEL, messages: user, response_format: { type: 'xml' } }, 'response_format.type', 'invalid_value'],
  ])('%j -> 400 naming %s', async (body, param, code) => {
    const r = await chat(body);
    expect(r.status).toBe(400);
    expect(r.json.error.type).toBe('invalid_request_error');
    expectOpenAIError(r.json, param, code);
  });

  test('conversation structure: system only at the start, roles alternate, last is the user', async () => {
    const cases: [unknown[], string][] = [
      [[{ role: 'user', content: 'a' }, { role: 'system', content: 'b' }], 'messages[1].role'],
      [[{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }], 'messages[1].role'],
      [[{ role: 'assistant', content: 'a' }], 'messages[0].role'],
      [[{ role: 'user', content: 'a' }, { role: 'assistant', content: 'b' }], 'messages[1].role'],
      [[{ role: 'system', content: 'a' }], 'messages'],
    ];
    for (const [messages, param] of cases) {
      const r = await chat({ model: MODEL, messages });
      expect(r.status).toBe(400);
      expectOpenAIError(r.json, param);
    }
  });

  test('fields not supported yet are refused by name, not ignored', async () => {
    for (const [extra, param] of [
      [{ frequency_penalty: 0.5 }, 'frequency_penalty'],
      [{ presence_penalty: 0.5 }, 'presence_penalty'],
    ] as const) {
      const r = await chat({ model: MODEL, messages: user, ...extra });
      expect(r.status).toBe(400);
      expectOpenAIError(r.json, param, 'unsupported_parameter');
      expect(r.json.error.message).toContain('not supported');
    }
    const top = await chat({ model: MODEL, messages: user, top_logprobs: 2 });
    expectOpenAIError(top.json, 'top_logprobs', 'invalid_value');
    const bias = await chat({ model: MODEL, messages: user, logit_bias: { [String(model.config.vocabSize)]: 5 } });
    expect(bias.status).toBe(400);
    expect(bias.json.error.message).toContain('logitBias');
    const c = await postJson(`${s.url}/v1/completions`, { model: MODEL, prompt: 'x', logprobs: 2, echo: true });
    expectOpenAIError(c.json, 'logprobs', 'unsupported_parameter');
  });

  test('completions: token ids outside the vocabulary, malformed prompts', async () => {
    const r = await postJson(`${s.url}/v1/completions`, { model: MODEL, prompt: [2, model.config.vocabSize] });
    expect(r.status).toBe(400);
    expectOpenAIError(r.json, 'prompt');
    expect(r.json.error.message).toContain(String(model.config.vocabSize));
    const strings = await postJson(`${s.url}/v1/completions`, { model: MODEL, prompt: ['a', 'b'] });
    expect(strings.status).toBe(400);
    expectOpenAIError(strings.json, 'prompt[0]');
    const empty = await postJson(`${s.url}/v1/completions`, { model: MODEL, prompt: '' });
    expectOpenAIError(empty.json, 'prompt');
  });

  test('a body that is not JSON is a 400 in the same shape', async () => {
    const r = await postJson(`${s.url}/v1/chat/completions`, '{"model": ');
    expect(r.status).toBe(400);
    expect(r.json.error.type).toBe('invalid_request_error');
    expectOpenAIError(r.json, null, 'invalid_json');
  });

  test('max_tokens above the server cap, and prompt + max_tokens above the context, are refused up front', async () => {
    const cap = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 65 }).catch((e: unknown) => e);
    expect(cap).toMatchObject({ status: 400, param: 'max_tokens' });
    const long = 'x = 1\n'.repeat(60);
    const ctx = await s.client.completions.create({ model: MODEL, prompt: long, max_tokens: 64 }).catch((e: unknown) => e);
    expect(ctx).toMatchObject({ status: 400, param: 'prompt', code: 'context_length_exceeded' });
  });
});

describe('404, 401, 413, 429', () => {
  test('unknown route and unknown model id are 404 in OpenAI shape', async () => {
    const route = await postJson(`${s.url}/v1/embeddings`, { model: MODEL, input: 'x' });
    expect(route.status).toBe(404);
    expectOpenAIError(route.json, null, 'unknown_url');
    const err = await s.client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, code: 'model_not_found', param: 'model' });
  });

  test('with an API key every /v1 route needs the bearer key; /health stays open', async () => {
    const secured = await startServer(model, { apiKey: 'sekret-key' });
    try {
      await expect(clientFor(secured.url, 'wrong').models.list()).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
      const none = await fetch(`${secured.url}/v1/models`);
      expect(none.status).toBe(401);
      expectOpenAIError(await none.json(), null, 'missing_api_key');
      const post = await postJson(`${secured.url}/v1/chat/completions`, { model: MODEL, messages: user }, { authorization: 'Bearer sekret-keyX' });
      expect(post.status).toBe(401);
      const ok = await clientFor(secured.url, 'sekret-key').chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], max_tokens: 2 });
      expect(ok.choices).toHaveLength(1);
      expect((await health(secured.url)).status).toBe('ready');
    } finally {
      await secured.close();
    }
  });

  test('an oversized body is 413', async () => {
    const small = await startServer(model, { bodyLimitBytes: 1024 });
    try {
      const r = await postJson(`${small.url}/v1/completions`, { model: MODEL, prompt: 'x'.repeat(2000) });
      expect(r.status).toBe(413);
      expectOpenAIError(r.json, null, 'request_too_large');
    } finally {
      await small.close();
    }
  });

  test('a full queue is 429 with Retry-After; the admitted request is unaffected', async () => {
    const busy = await startServer(model, { maxBatch: 1, maxQueue: 1 });
    try {
      const body = { model: MODEL, prompt: 'def a():\n', max_tokens: 60, temperature: 0 };
      // The first request streams, and we stop reading after its first chunk: it stays admitted
      // (stalled on its consumer) however fast the machine is, until we cancel it.
      const controller = new AbortController();
      const first = await fetch(`${busy.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ...body, max_tokens: 4000, stream: true }), signal: controller.signal });
      const reader = first.body!.getReader();
      await reader.read();
      expect(await waitFor(async () => (await health(busy.url)).active_sequences === 1)).toBe(true);
      const second = postJson(`${busy.url}/v1/completions`, body);
      expect(await waitFor(async () => (await health(busy.url)).queue_depth === 1)).toBe(true);
      const third = await postJson(`${busy.url}/v1/completions`, body);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toMatch(/^\d+$/);
      expectOpenAIError(third.json, null, 'queue_full');
      expect(third.json.error.type).toBe('rate_limit_error');
      const want = await model.complete('def a():\n', { maxTokens: 60, temperature: 0 });
      controller.abort(); // the client goes away: its slot frees and the queued request runs
      await reader.cancel().catch(() => undefined);
      expect((await second).json.choices[0].text).toBe(want.text);
      const n = await postJson(`${busy.url}/v1/completions`, { ...body, n: 2 });
      expectOpenAIError(n.json, 'n');
    } finally {
      await busy.close();
    }
  });
});

describe('lifecycle', () => {
  test('close() lets a running request finish, refuses new ones, and releases the port', async () => {
    const server = createServer(model, { log: false, shutdownGraceMs: 30_000 });
    const url = await server.listen({ port: 0 });
    const port = Number(new URL(url).port);
    // A streamed request whose first chunk has arrived is certainly running (polling /health could
    // miss a short request on a fast machine).
    const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'import sys\n', max_tokens: 30, temperature: 0, stream: true }) });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    let body = Buffer.from((await reader.read()).value ?? new Uint8Array()).toString('utf8');
    const closing = server.close();
    const refused = await postJson(`${url}/v1/completions`, { model: MODEL, prompt: 'x', max_tokens: 2 });
    expect(refused.status).toBe(503);
    expectOpenAIError(refused.json, null, 'server_shutdown');
    for (let i = 0; i < 10_000; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      body += Buffer.from(value).toString('utf8');
    }
    const events = body.split('\n\n').filter((e) => e.startsWith('data: ') && e !== 'data: [DONE]');
    const text = events.map((e) => (JSON.parse(e.slice(6)) as { choices: { text: string }[] }).choices[0]?.text ?? '').join('');
    expect(body).toContain('data: [DONE]');
    const want = await model.complete('import sys\n', { maxTokens: 30, temperature: 0 });
    expect(text).toBe(want.text);
    await closing;
    // The port is free again: we can bind it ourselves.
    await new Promise<void>((resolve, reject) => {
      const probe = net.createServer().once('error', reject).listen(port, '127.0.0.1', () => probe.close(() => resolve()));
    });
  });

  test('past the grace period a stream is cut with an error event', async () => {
    const server = createServer(model, { log: false, shutdownGraceMs: 0 });
    const url = await server.listen({ port: 0 });
    const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: MODEL, prompt: 'x', max_tokens: 4000, stream: true }) });
    expect(r.status).toBe(200);
    const reader = r.body!.getReader();
    await reader.read(); // the stream is running
    const closing = server.close();
    let text = '';
    for (let i = 0; i < 100000; i++) {
      const { done, value } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('utf8');
    }
    await closing;
    const events = text.split('\n\n').filter((e) => e.startsWith('data: '));
    const last = JSON.parse(events[events.length - 1]!.slice(6));
    expect(last.error).toMatchObject({ type: 'service_unavailable', code: 'server_shutdown' });
    expect(text).not.toContain('[DONE]');
  });

  test('a model still loading: /health says loading, /v1 routes answer 503 with Retry-After', async () => {
    let resolve!: (m: RecurrentGemma) => void;
    const server = createServer(new Promise<RecurrentGemma>((r) => (resolve = r)), { log: false });
    const url = await server.listen({ port: 0 });
    try {
      expect((await health(url)).status).toBe('loading');
      const r = await postJson(`${url}/v1/completions`, { model: MODEL, prompt: 'x' });
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('1');
      expectOpenAIError(r.json, null, 'model_loading');
      resolve(model);
      expect(await waitFor(async () => (await health(url)).status === 'ready')).toBe(true);
    } finally {
      await server.close();
    }
  });
});
