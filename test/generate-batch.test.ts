/**
 * generateBatch: every request gets exactly what model.complete() gives it alone (same tokens,
 * text and finish reason) under its own options, while the batcher runs one step for all of them;
 * sequences that finish early drop out. Also ChatSession save / restore with its history.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { InvalidArgumentError, RecurrentGemma, StateFormatCode, StateFormatError, type GenerateOptions } from '../lib';
import { withoutTimings } from './helpers/completion';

let model: RecurrentGemma;
let tmp: string;
beforeAll(async () => {
  model = await RecurrentGemma.load(); // tiny-python: has a tokenizer and a chat template
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-genbatch-'));
});
afterAll(() => {
  model.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('generateBatch', () => {
  const requests: { prompt: string; options: GenerateOptions }[] = [
    { prompt: 'def fibonacci(n):\n', options: { maxTokens: 16, temperature: 0 } },
    { prompt: 'import os\n', options: { maxTokens: 6, temperature: 0 } },
    { prompt: 'class Stack:\n    def __init__(self):\n', options: { maxTokens: 20, temperature: 0.8, seed: 11, topK: 20 } },
    { prompt: 'for i in range(10):\n', options: { maxTokens: 24, temperature: 0.7, seed: 3, stop: ['\n\n'] } },
    { prompt: '# sum a list\n', options: { maxTokens: 16, temperature: 1, seed: 5, repetitionPenalty: 1.3 } },
  ];

  test('each request equals its complete() run alone, finished ones drop out', async () => {
    const batcher = model.createBatcher();
    const seen = requests.map(() => 0);
    const got = await model.generateBatch(requests, { batcher, onToken: (_chunk, i) => seen[i]!++ });
    const want = [];
    for (const r of requests) want.push(await model.complete(r.prompt, r.options));
    expect(got.map(withoutTimings)).toEqual(want.map(withoutTimings));
    got.forEach((c, i) => expect(seen[i]).toBe(c.generatedTokens));
    // One step per token of the longest run (plus prefill), not the sum of all runs: the runs shared steps.
    const longest = Math.max(...got.map((c) => c.generatedTokens));
    const total = got.reduce((n, c) => n + c.generatedTokens, 0);
    expect(batcher.stats.steps).toBeLessThanOrEqual(longest + 1);
    expect(batcher.stats.sequenceSteps).toBe(total); // each sequence stepped only while it ran
    expect(batcher.stats.maxBatchSeen).toBe(requests.length);
    expect(new Set(got.map((c) => c.generatedTokens)).size).toBeGreaterThan(1); // they did finish at different times
  });

  test('shared options apply to every request and per-request options override them', async () => {
    const got = await model.generateBatch(['def add(a, b):\n', { prompt: 'x = [', options: { maxTokens: 3 } }, [2, 100, 200]], { maxTokens: 7, temperature: 0 });
    expect(got.map((c) => c.generatedTokens)).toEqual([
      (await model.complete('def add(a, b):\n', { maxTokens: 7, temperature: 0 })).generatedTokens,
      (await model.complete('x = [', { maxTokens: 3, temperature: 0 })).generatedTokens,
      (await model.complete([2, 100, 200], { maxTokens: 7, temperature: 0 })).generatedTokens,
    ]);
    expect(got[1]!.tokens).toEqual((await model.complete('x = [', { maxTokens: 3, temperature: 0 })).tokens);
  });

  test('per-request state: several requests fork from one cached prefix', async () => {
    const prefix = model.createState();
    await model.forward(prefix, model.tokenizer.encode('# utilities\nimport math\n', { addBos: true }));
    const suffixes = ['def area(r):\n', 'def hyp(a, b):\n', 'PI = '];
    const got = await model.generateBatch(
      suffixes.map((s) => ({ prompt: model.tokenizer.encode(s, { addBos: false }), options: { state: prefix.clone() } })),
      { maxTokens: 10, temperature: 0 },
    );
    for (let i = 0; i < suffixes.length; i++) {
      const alone = await model.complete(model.tokenizer.encode(suffixes[i]!, { addBos: false }), { state: prefix.clone(), maxTokens: 10, temperature: 0 });
      expect(got[i]!.tokens).toEqual(alone.tokens);
    }
    expect(prefix.position).toBeGreaterThan(0); // the prefix itself was never advanced
  });

  test('an aborted request ends alone; invalid requests are rejected before anything runs', async () => {
    const ac = new AbortController();
    const got = await model.generateBatch(
      [
        { prompt: 'def f():\n', options: { signal: ac.signal, onToken: (c) => c.token >= 0 && ac.abort() } },
        { prompt: 'def g():\n' },
      ],
      { maxTokens: 12, temperature: 0, ignoreEos: true },
    );
    // Same as the request alone: abort is seen after the token being computed.
    const solo = new AbortController();
    const alone = await model.complete('def f():\n', { signal: solo.signal, onToken: () => solo.abort(), maxTokens: 12, temperature: 0, ignoreEos: true });
    expect(got[0]!.finishReason).toBe('abort');
    expect(withoutTimings(got[0]!)).toEqual(withoutTimings(alone));
    expect(got[0]!.generatedTokens).toBeLessThan(12);
    expect(got[1]!.finishReason).toBe('length');
    expect(got[1]!.generatedTokens).toBe(12);
    const batcher = model.createBatcher();
    await expect(model.generateBatch(['ok', { prompt: 'x', options: { temperature: -1 } }], { batcher })).rejects.toThrow(InvalidArgumentError);
    expect(batcher.stats.steps).toBe(0);
    await expect(model.generateBatch(['ok'], { state: model.createState() } as never)).rejects.toThrow(/per-request/);
  });
});

describe('ChatSession save / restore', () => {
  test('a restored session has the same history and continues exactly like the original', async () => {
    const a = model.createChatSession({ generation: { maxTokens: 10, temperature: 0 } });
    await a.prompt('Write a function that adds two numbers.');
    const file = path.join(tmp, 'chat.rgstate');
    await a.save(file);
    const b = await model.loadChatSession(file, { generation: { maxTokens: 10, temperature: 0 } });
    expect(b.history).toEqual(a.history);
    expect(b.pendingTokens).toEqual(a.pendingTokens);
    expect(b.state.position).toBe(a.state.position);
    const ra = await a.prompt('Now multiply them.');
    const rb = await b.prompt('Now multiply them.');
    expect(withoutTimings(rb)).toEqual(withoutTimings(ra));
    expect(b.history).toEqual(a.history);
    expect(b.state.layers).toEqual(a.state.layers);
    // In memory too, and the bytes say what they hold.
    const c = model.deserializeChatSession(b.serialize());
    expect(c.history).toHaveLength(4);
  });

  test('a plain state or damaged chat data is refused with a StateFormatError', async () => {
    const plain = model.createState();
    await model.forward(plain, [2, 10, 20]);
    expect(() => model.deserializeChatSession(plain.serialize())).toThrow(StateFormatError);
    try {
      model.deserializeChatSession(plain.serialize());
    } catch (e) {
      expect((e as StateFormatError).code).toBe(StateFormatCode.NOT_A_CHAT);
    }
    const forged = plain.serialize({ metadata: { 'recurrentgemma.chatSession': { version: 1, history: [{ role: 'assistant', content: 'x' }], pendingTokens: [] } } });
    expect(() => model.deserializeChatSession(forged)).toThrow(/history\[0\] must be a user message/);
    const badTokens = plain.serialize({ metadata: { 'recurrentgemma.chatSession': { version: 1, history: [], pendingTokens: [1e9] } } });
    expect(() => model.deserializeChatSession(badTokens)).toThrow(/pendingTokens/);
  });
});
