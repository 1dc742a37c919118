/**
 * Timings on every completion and on the last streamed chunk: checked for consistency with the
 * counts (tokens, rates = tokens / time), never against speed targets.
 */
import { performance } from 'perf_hooks';

import { RecurrentGemma, type GenerationChunk, type GenerationTimings } from '../lib';

let model: RecurrentGemma;
beforeAll(async () => {
  model = await RecurrentGemma.load();
});
afterAll(() => model.dispose());

function checkTimings(t: GenerationTimings, prefilled: number, generated: number): void {
  expect(t.loadMs).toBe(model.loadMs);
  expect(t.prefillTokens).toBe(prefilled);
  expect(t.decodeTokens).toBe(generated - 1);
  expect(t.prefillMs).toBeGreaterThan(0);
  expect(t.prefillTokensPerSecond).toBeCloseTo((prefilled * 1000) / t.prefillMs, 6);
  expect(t.decodeTokensPerSecond).toBeCloseTo(t.decodeMs > 0 ? ((generated - 1) * 1000) / t.decodeMs : 0, 6);
  expect(t.timeToFirstTokenMs).toBeGreaterThanOrEqual(t.prefillMs);
}

test('the model knows how long it took to load', () => {
  expect(model.loadMs).toBeGreaterThan(0);
});

test('complete(): timings agree with the counts', async () => {
  const c = await model.complete('def f(x):\n', { maxTokens: 6, temperature: 0, ignoreEos: true });
  expect(c.generatedTokens).toBe(6);
  checkTimings(c.timings, c.promptTokens, 6);
});

test('generate(): only the last chunk carries timings, equal to what the stream returns', async () => {
  const chunks: GenerationChunk[] = [];
  const stream = model.generate('import os\n', { maxTokens: 4, temperature: 0, ignoreEos: true });
  let r = await stream.next();
  for (; !r.done; r = await stream.next()) chunks.push(r.value);
  expect(chunks.slice(0, -1).every((c) => c.timings === undefined)).toBe(true);
  const last = chunks.at(-1)!;
  checkTimings(last.timings!, last.promptTokens!, 4);
  expect(r.value.timings).toEqual(last.timings);
});

test('time spent by the consumer of a stream is not counted as decode time', async () => {
  // A clock that moves only while the consumer holds a chunk: the generation's own work takes
  // no time on it, so any decode time measured would be the consumer's.
  let fake = 1000;
  const clock = jest.spyOn(performance, 'now').mockImplementation(() => fake);
  try {
    let last: GenerationChunk | undefined;
    for await (const c of model.generate('x = ', { maxTokens: 4, temperature: 0, ignoreEos: true })) {
      last = c;
      fake += 500; // the consumer "works" 500 ms on every chunk
    }
    expect(last!.timings).toMatchObject({ decodeTokens: 3, decodeMs: 0, prefillMs: 0, timeToFirstTokenMs: 0 });
  } finally {
    clock.mockRestore();
  }
});

test('chat replies and batched completions carry timings', async () => {
  const session = model.createChatSession({ generation: { maxTokens: 3, temperature: 0, ignoreEos: true } });
  const r = await session.prompt('hello');
  checkTimings(r.timings, r.promptTokens, 3);
  session.dispose();
  const batch = await model.generateBatch(['a = 1\n', 'b = 2\n'], { maxTokens: 2, temperature: 0, ignoreEos: true });
  for (const c of batch) checkTimings(c.timings, c.promptTokens, 2);
});
