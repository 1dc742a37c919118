/**
 * The OpenAI-compatible server against the official `openai` client on an ephemeral loopback
 * port: answers equal the library's own model.complete() / ChatSession on the same input (greedy,
 * seeded, stop strings, n), streamed and not, and 16 concurrent streams each get their exact
 * single-request answer while sharing decode steps.
 */
import Ajv from 'ajv';
import type OpenAI from 'openai';

import { ChatTemplate, RecurrentGemma } from '../lib';
import { health, startServer, waitFor, type TestServer } from './helpers/server';

let model: RecurrentGemma;
let s: TestServer;
const MODEL = 'tiny-python';

beforeAll(async () => {
  model = await RecurrentGemma.load(undefined, { threads: 1 });
  s = await startServer(model, { maxBatch: 16 });
});

afterAll(async () => {
  await s?.close();
  model?.dispose();
});

async function chatSessionReply(content: string, maxTokens: number, extra: Record<string, unknown> = {}) {
  const session = model.createChatSession();
  try {
    return await session.prompt(content, { maxTokens, temperature: 0, ...extra });
  } finally {
    session.dispose();
  }
}

describe('GET /v1/models and /health', () => {
  test('lists the one model; retrieve works; an unknown id is 404', async () => {
    const list = await s.client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([MODEL]);
    expect((await s.client.models.retrieve(MODEL)).id).toBe(MODEL);
    await expect(s.client.models.retrieve('gpt-4')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
  });

  test('/health reports ready with the queue and active sequences', async () => {
    const h = await health(s.url);
    expect(h).toMatchObject({ status: 'ready', model: MODEL, active_sequences: 0, queue_depth: 0, max_batch: 16 });
  });
});

describe('POST /v1/chat/completions', () => {
  test('greedy answer equals a ChatSession on the same message; usage counts tokens', async () => {
    const want = await chatSessionReply('def add(a, b):', 12);
    const r = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'def add(a, b):' }], max_tokens: 12, temperature: 0 });
    expect(r.object).toBe('chat.completion');
    expect(r.choices).toHaveLength(1);
    expect(r.choices[0]!.message).toMatchObject({ role: 'assistant', content: want.text });
    expect(r.choices[0]!.finish_reason).toBe(want.finishReason);
    expect(r.usage).toMatchObject({ prompt_tokens: want.promptTokens, completion_tokens: want.generatedTokens, total_tokens: want.promptTokens + want.generatedTokens });
  });

  test('a system message is merged into the first user turn (system + blank line + user)', async () => {
    const want = await chatSessionReply('You write Python.\n\nimport os', 10);
    const r = await s.client.chat.completions.create({
      model: MODEL,
      messages: [
        { role: 'system', content: 'You write Python.' },
        { role: 'user', content: 'import os' },
      ],
      max_completion_tokens: 10,
      temperature: 0,
    });
    expect(r.choices[0]!.message.content).toBe(want.text);
  });

  test('streamed: role first, deltas concatenate to the non-streamed answer, finish_reason, usage chunk last', async () => {
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'class Stack:' }], max_tokens: 14, temperature: 0 };
    const whole = await s.client.chat.completions.create(body);
    const stream = await s.client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id)).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(whole.choices[0]!.message.content);
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishes.map((c) => c.choices[0]!.finish_reason)).toEqual([whole.choices[0]!.finish_reason]);
    const last = chunks[chunks.length - 1]!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: whole.usage!.prompt_tokens, completion_tokens: whole.usage!.completion_tokens });
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
  });

  test('seeded sampling reproduces and equals the library with the same seed; n forks choices seeded seed + i', async () => {
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'def fib(n):' }], max_tokens: 16, temperature: 1, top_p: 0.9, top_k: 40, seed: 7 };
    const a = await s.client.chat.completions.create(body);
    const b = await s.client.chat.completions.create(body);
    expect(b.choices[0]!.message.content).toBe(a.choices[0]!.message.content);
    const lib = await chatSessionReply('def fib(n):', 16, { temperature: 1, topP: 0.9, topK: 40, seed: 7 });
    expect(a.choices[0]!.message.content).toBe(lib.text);
    const n = await s.client.chat.completions.create({ ...body, n: 3 });
    expect(n.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    for (let i = 0; i < 3; i++) {
      const want = await chatSessionReply('def fib(n):', 16, { temperature: 1, topP: 0.9, topK: 40, seed: 7 + i });
      expect(n.choices[i]!.message.content).toBe(want.text);
    }
    expect(n.usage!.prompt_tokens).toBe(a.usage!.prompt_tokens); // one prompt, prefilled once
    expect(new Set(n.choices.map((c) => c.message.content)).size).toBeGreaterThan(1);
  });

  test('n choices prefill the prompt once and fork its state (tokens fed to the model counted)', async () => {
    const content = 'def unique_for_the_fork_test(values):';
    const session = model.createChatSession();
    const P = session.turnTokens(content).length;
    session.dispose();
    let fed = 0;
    // The batcher's one entry into the model (every batched step goes through it).
    const forwardChecked = model.forwardChecked.bind(model);
    const spy = jest.spyOn(model, 'forwardChecked').mockImplementation(async (states, tokens, allLogits) => {
      fed += tokens.reduce((n, t) => n + t.length, 0);
      return forwardChecked(states, tokens, allLogits);
    });
    try {
      const r = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content }], max_tokens: 4, temperature: 0, n: 3 });
      expect(r.choices.every((c) => c.finish_reason === 'length')).toBe(true);
    } finally {
      spy.mockRestore();
    }
    // The prompt but its last token once; then per choice: the last prompt token, 3 sampled tokens
    // fed back, and the 4th fed after the answer to cache the state.
    expect(fed).toBe(P - 1 + 3 * (1 + 3 + 1));
  });

  test('stop strings end the answer before the stop text (finish_reason stop), like the library', async () => {
    const want = await chatSessionReply('def add(a, b):', 30, { stop: ['sys'] });
    expect(want.finishReason).toBe('stop');
    const r = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'def add(a, b):' }], max_tokens: 30, temperature: 0, stop: 'sys' });
    expect(r.choices[0]!.message.content).toBe(want.text);
    expect(r.choices[0]!.message.content).not.toContain('sys');
    expect(r.choices[0]!.finish_reason).toBe('stop');
    const list = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'def add(a, b):' }], max_tokens: 30, temperature: 0, stop: ['zzz', 'sys'] });
    expect(list.choices[0]!.message.content).toBe(want.text);
  });

  test('vLLM-style extensions (top_k, min_p, repetition_penalty) reach the sampler', async () => {
    const want = await chatSessionReply('import os', 16, { repetitionPenalty: 1.3 });
    const r = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'import os' }], max_tokens: 16, temperature: 0, repetition_penalty: 1.3, top_k: -1, min_p: 0 } as never);
    expect((r as { choices: { message: { content: string } }[] }).choices[0]!.message.content).toBe(want.text);
    const plain = await chatSessionReply('import os', 16);
    expect(want.text).not.toBe(plain.text); // the penalty changed the answer, so the field was used
  });
});

describe('POST /v1/completions', () => {
  test('text prompt: greedy answer equals model.complete(); echo prepends the prompt', async () => {
    const want = await model.complete('def fibonacci(n):\n', { maxTokens: 20, temperature: 0 });
    const r = await s.client.completions.create({ model: MODEL, prompt: 'def fibonacci(n):\n', max_tokens: 20, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.choices[0]!.text).toBe(want.text);
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage).toMatchObject({ prompt_tokens: want.promptTokens, completion_tokens: 20 });
    const echo = await s.client.completions.create({ model: MODEL, prompt: 'def fibonacci(n):\n', max_tokens: 20, temperature: 0, echo: true });
    expect(echo.choices[0]!.text).toBe('def fibonacci(n):\n' + want.text);
  });

  test('token-id prompt is used exactly as given; streamed pieces concatenate to the answer', async () => {
    const ids = model.tokenizer.encode('import numpy as np\n', { addBos: true });
    const want = await model.complete(ids, { maxTokens: 16, temperature: 0 });
    const stream = await s.client.completions.create({ model: MODEL, prompt: ids, max_tokens: 16, temperature: 0, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(want.text);
    expect(finish).toBe('length');
  });
});

describe('response_format (structured output)', () => {
  const schema = {
    type: 'object',
    properties: { name: { type: 'string', maxLength: 12 }, count: { type: 'integer', minimum: 0, maximum: 99 } },
    required: ['name', 'count'],
    additionalProperties: false,
  };

  test('json_schema: every answer (streamed and not, several seeds) parses and validates with ajv', async () => {
    const validate = new Ajv().compile(schema);
    for (const seed of [1, 2, 3]) {
      const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'Give a name and a count as JSON.' }], max_tokens: 80, seed, response_format: { type: 'json_schema' as const, json_schema: { name: 'item', schema } } };
      const r = await s.client.chat.completions.create(body);
      const value = JSON.parse(r.choices[0]!.message.content!);
      expect(validate(value)).toBe(true);
      const stream = await s.client.chat.completions.create({ ...body, stream: true });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      expect(text).toBe(r.choices[0]!.message.content);
    }
  });

  test('json_object gives a JSON object; an unusable schema is a 400 naming it', async () => {
    const r = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'JSON please' }], max_tokens: 60, seed: 4, response_format: { type: 'json_object' } });
    const value = JSON.parse(r.choices[0]!.message.content!);
    expect(typeof value === 'object' && value !== null && !Array.isArray(value)).toBe(true);
    const bad = await s.client.chat.completions
      .create({ model: MODEL, messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', minLength: 5, maxLength: 2 } } } })
      .catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400, param: 'response_format.json_schema.schema' });
  });
});

/** log-softmax of a logits row, in float64 (the independent expectation for logprobs). */
function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

/** Every position's logits of `ids` from one prefill forward pass. */
async function allLogits(ids: number[]): Promise<Float32Array[]> {
  const state = model.createState();
  try {
    const flat = await model.forward(state, ids, { allLogits: true });
    const V = model.config.vocabSize;
    return ids.map((_, t) => flat.subarray(t * V, (t + 1) * V));
  } finally {
    state.dispose();
  }
}

describe('logprobs and logit_bias', () => {
  test('chat logprobs and top_logprobs equal the log-softmax of forward() logits, streamed and not', async () => {
    const body = { model: MODEL, messages: [{ role: 'user' as const, content: 'def add(a, b):' }], max_tokens: 8, temperature: 0, logprobs: true, top_logprobs: 3 };
    const r = await s.client.chat.completions.create(body);
    const content = r.choices[0]!.logprobs!.content!;
    expect(content).toHaveLength(8);
    const session = model.createChatSession();
    const prompt = session.turnTokens('def add(a, b):');
    session.dispose();
    const want = await chatSessionReply('def add(a, b):', 8);
    const rows = await allLogits([...prompt, ...want.tokens]);
    content.forEach((entry, i) => {
      const lp = logSoftmax(rows[prompt.length - 1 + i]!);
      expect(entry.token).toBe(model.tokenizer.decode([want.tokens[i]!]));
      expect(entry.logprob).toBeCloseTo(lp[want.tokens[i]!]!, 4);
      const best = Array.from(lp.keys()).sort((a, b) => lp[b]! - lp[a]! || a - b).slice(0, 3);
      expect(entry.top_logprobs.map((t) => t.logprob)).toEqual(best.map((id) => expect.closeTo(lp[id]!, 4)));
      expect(entry.top_logprobs[0]!.token).toBe(entry.token); // greedy: the chosen token is the best one
      expect(entry.bytes).toEqual(Array.from(Buffer.from(entry.token, 'utf8')));
    });
    const stream = await s.client.chat.completions.create({ ...body, stream: true });
    const streamed: number[] = [];
    for await (const c of stream) streamed.push(...(c.choices[0]?.logprobs?.content ?? []).map((e) => e.logprob));
    expect(streamed).toEqual(content.map((e) => e.logprob));
  });

  test('completions logprobs: tokens, token_logprobs, top_logprobs, text_offset', async () => {
    const ids = model.tokenizer.encode('import os\n', { addBos: true });
    const r = await s.client.completions.create({ model: MODEL, prompt: 'import os\n', max_tokens: 6, temperature: 0, logprobs: 2 });
    const lp = r.choices[0]!.logprobs!;
    const want = await model.complete('import os\n', { maxTokens: 6, temperature: 0 });
    const rows = await allLogits([...ids, ...want.tokens]);
    expect(lp.tokens).toEqual(want.tokens.map((t) => model.tokenizer.decode([t])));
    lp.token_logprobs!.forEach((v, i) => expect(v).toBeCloseTo(logSoftmax(rows[ids.length - 1 + i]!)[want.tokens[i]!]!, 4));
    expect(lp.top_logprobs!.every((m) => Object.keys(m!).length >= 1 && Object.keys(m!).length <= 2)).toBe(true);
    let at = 0;
    lp.text_offset!.forEach((o, i) => {
      expect(o).toBe(at);
      at += lp.tokens![i]!.length;
    });
  });

  test('logit_bias: +100 forces a token, -100 bans the greedy choice', async () => {
    const forced = (await s.client.completions.create({ model: MODEL, prompt: 'x = ', max_tokens: 4, temperature: 0, logit_bias: { '300': 100 }, return_token_ids: true } as never)) as unknown as { choices: { token_ids: number[] }[] };
    expect(forced.choices[0]!.token_ids).toEqual([300, 300, 300, 300]);
    const plain = await model.complete('x = ', { maxTokens: 1, temperature: 0 });
    const banned = (await s.client.completions.create({ model: MODEL, prompt: 'x = ', max_tokens: 1, temperature: 0, logit_bias: { [String(plain.tokens[0])]: -100 }, return_token_ids: true } as never)) as unknown as { choices: { token_ids: number[] }[] };
    expect(banned.choices[0]!.token_ids[0]).not.toBe(plain.tokens[0]);
  });
});

describe('return_token_ids (extension)', () => {
  test('token ids of the prompt and of each choice, whole and streamed, equal the library\'s', async () => {
    const want = await model.complete('def sort(xs):\n', { maxTokens: 10, temperature: 0 });
    const body = { model: MODEL, prompt: 'def sort(xs):\n', max_tokens: 10, temperature: 0, return_token_ids: true };
    const r = (await s.client.completions.create(body as never)) as unknown as { prompt_token_ids: number[]; choices: { token_ids: number[] }[] };
    expect(r.prompt_token_ids).toEqual(model.tokenizer.encode('def sort(xs):\n', { addBos: true }));
    expect(r.choices[0]!.token_ids).toEqual(want.tokens);
    const stream = (await s.client.completions.create({ ...body, stream: true } as never)) as unknown as AsyncIterable<{ choices: { token_ids?: number[] }[] }>;
    const streamed: number[] = [];
    for await (const c of stream) streamed.push(...(c.choices[0]?.token_ids ?? []));
    expect(streamed).toEqual(want.tokens);
  });
});

describe('continuous batching', () => {
  test('16 concurrent streaming clients each get their exact single-request answer', async () => {
    const prompts = Array.from({ length: 16 }, (_, i) => `def f${i}(x):\n    return x * ${i}\n`);
    const want: { text: string }[] = [];
    for (const p of prompts) want.push(await model.complete(p, { maxTokens: 12 + (prompts.indexOf(p) % 5), temperature: 0 }));
    const before = (await health(s.url)) as unknown as { batcher: { maxBatchSeen: number } };
    const got = await Promise.all(
      prompts.map(async (p, i) => {
        const stream = await s.client.completions.create({ model: MODEL, prompt: p, max_tokens: 12 + (i % 5), temperature: 0, stream: true });
        let text = '';
        for await (const c of stream) text += c.choices[0]?.text ?? '';
        return text;
      }),
    );
    expect(got).toEqual(want.map((w) => w.text));
    const after = (await health(s.url)) as unknown as { batcher: { maxBatchSeen: number } };
    expect(Math.max(before.batcher.maxBatchSeen, after.batcher.maxBatchSeen)).toBeGreaterThan(1); // steps were shared
  });

  test('a client aborting mid-stream frees its slot; the others are untouched', async () => {
    type Stats = { batcher: { sequenceSteps: number } };
    const before = ((await health(s.url)) as unknown as Stats).batcher.sequenceSteps;
    const other = s.client.completions.create({ model: MODEL, prompt: 'class Node:\n', max_tokens: 40, temperature: 0 });
    const controller = new AbortController();
    const stream = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'import os' }], max_tokens: 4000, temperature: 0, stream: true }, { signal: controller.signal });
    let seen = 0;
    for await (const c of stream) {
      if (c.choices[0]?.delta.content) seen++;
      if (seen === 3) break;
    }
    expect((await health(s.url)).active_sequences).toBeGreaterThanOrEqual(1);
    controller.abort();
    const want = await model.complete('class Node:\n', { maxTokens: 40, temperature: 0 });
    expect((await other).choices[0]!.text).toBe(want.text);
    expect(await waitFor(async () => (await health(s.url)).active_sequences === 0)).toBe(true);
    // The aborted request stopped far short of its 4000 tokens (counted in shared sequence-steps).
    const after = ((await health(s.url)) as unknown as Stats).batcher.sequenceSteps;
    expect(after - before).toBeLessThan(1000);
  });
});

describe('conversation-state cache', () => {
  test('turn 2 reports cached_tokens = turn 1 prompt + answer and answers as a cold server does', async () => {
    const user1 = 'def add(a, b):';
    const t1 = await s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: user1 }], max_tokens: 12, temperature: 0 });
    const answer = t1.choices[0]!.message.content!;
    const turn2 = {
      model: MODEL,
      messages: [
        { role: 'user' as const, content: user1 },
        { role: 'assistant' as const, content: answer },
        { role: 'user' as const, content: 'def sub(a, b):' },
      ],
      max_tokens: 12,
      temperature: 0,
    };
    const warm = await s.client.chat.completions.create(turn2);
    expect(warm.usage!.prompt_tokens_details!.cached_tokens).toBe(t1.usage!.prompt_tokens + t1.usage!.completion_tokens);
    const cold = await startServer(model, { stateCacheBytes: 0 });
    try {
      const c = await cold.client.chat.completions.create(turn2);
      expect(c.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
      expect(warm.choices[0]!.message.content).toBe(c.choices[0]!.message.content);
      expect(warm.usage!.prompt_tokens).toBe(c.usage!.prompt_tokens);
    } finally {
      await cold.close();
    }
  });

  test('states at message boundaries of a long prompt are cached: a branch of the conversation reuses them', async () => {
    const u1 = 'Here is some code:\n' + Array.from({ length: 12 }, (_, i) => `x${i} = ${i} * ${i}`).join('\n');
    const a1 = Array.from({ length: 10 }, (_, i) => `import mod${i}`).join('\n'); // > 32 tokens after the first boundary
    const ask = (last: string) => s.client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: u1 }, { role: 'assistant', content: a1 }, { role: 'user', content: last }], max_tokens: 4, temperature: 0 });
    const first = await ask('def first():');
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    const branch = await ask('def second():');
    // The state after the assistant message (the rendering of the first two messages) was kept.
    const template = new ChatTemplate(model.tokenizer.chatTemplate, model.tokenizer.bosToken);
    const history = model.tokenizer.encode(template.render([{ role: 'user', content: u1 }, { role: 'assistant', content: a1 }], false), { addBos: false });
    expect(branch.usage!.prompt_tokens_details!.cached_tokens).toBe(history.length);
    const cold = await chatSessionReply(`${u1}`, 1); // sanity: the long message is > 32 tokens
    expect(cold.promptTokens).toBeGreaterThan(32);
  });
});
