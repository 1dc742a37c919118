/**
 * Abort has one behaviour across generate / complete / generateBatch / ChatSession: the result
 * resolves with finishReason 'abort' and the tokens sampled so far (zero when the abort came
 * first or during the prefill), and a prefill stops within one round of PREFILL_ROUND_TOKENS,
 * leaving the state at that round boundary. forward / forwardBatch reject with an AbortError at
 * a round boundary. Rounds are counted through the model calls, never timed.
 */
import { AbortError, PREFILL_ROUND_TOKENS, RecurrentGemma, type GenerationChunk } from '../lib';
import { spyOnForward } from './helpers/forward-spy';

let model: RecurrentGemma;
let longPrompt: number[]; // 2.5 rounds of the demo model's own tokens
beforeAll(async () => {
  model = await RecurrentGemma.load();
  const text = Array.from({ length: 80 }, (_, i) => `def f${i}(x):\n    return x + ${i}\n`).join('');
  longPrompt = model.tokenizer.encode(text).slice(0, Math.floor(PREFILL_ROUND_TOKENS * 2.5));
  expect(longPrompt.length).toBe(Math.floor(PREFILL_ROUND_TOKENS * 2.5));
});
afterAll(() => model.dispose());

/** Spies on model.forwardChecked (the native call every public and batched path ends in). */
function spyOnNative(onCall: (rows: number[]) => void): { calls: number[][]; restore: () => void } {
  const calls: number[][] = [];
  const original = model.forwardChecked.bind(model);
  const spy = jest.spyOn(model, 'forwardChecked').mockImplementation(async (states, tokens, allLogits) => {
    const out = await original(states, tokens, allLogits);
    calls.push(tokens.map((t) => t.length));
    onCall(tokens.map((t) => t.length));
    return out;
  });
  return { calls, restore: () => spy.mockRestore() };
}

describe('an already aborted signal: no work, a zero-token result', () => {
  const aborted = () => AbortSignal.abort();

  test('complete() and the generate() stream', async () => {
    const { fed, restore } = spyOnForward(model);
    try {
      const state = model.createState();
      const c = await model.complete('def f():\n', { signal: aborted(), state });
      expect(c).toMatchObject({ text: '', tokens: [], finishReason: 'abort', generatedTokens: 0, promptTokens: model.tokenizer.encode('def f():\n').length });
      expect(c.timings).toMatchObject({ prefillTokens: 0, decodeTokens: 0 });
      expect(c.timings.timeToFirstTokenMs).toBeUndefined();
      expect(state.position).toBe(0);
      const stream = model.generate('def f():\n', { signal: aborted() });
      const first = await stream.next();
      expect(first.done).toBe(true);
      expect(first.value).toMatchObject({ finishReason: 'abort', generatedTokens: 0 });
      expect(fed).toEqual([]);
      state.dispose();
    } finally {
      restore();
    }
  });

  test('generateBatch: the aborted request ends alone with zero tokens', async () => {
    const got = await model.generateBatch(
      [
        { prompt: 'x = 1\n', options: { signal: aborted() } },
        { prompt: 'y = 2\n', options: { maxTokens: 3 } },
      ],
      { temperature: 0, ignoreEos: true },
    );
    expect(got[0]).toMatchObject({ tokens: [], finishReason: 'abort', generatedTokens: 0 });
    expect(got[1]).toMatchObject({ finishReason: 'length', generatedTokens: 3 });
  });

  test('ChatSession.prompt: nothing changes', async () => {
    const session = model.createChatSession({ generation: { maxTokens: 4, temperature: 0 } });
    const r = await session.prompt('hello', { signal: aborted() });
    expect(r).toMatchObject({ tokens: [], finishReason: 'abort' });
    expect(session.history).toEqual([]);
    expect(session.state.position).toBe(0);
    session.dispose();
  });

  test('forward() rejects with an AbortError before any work', async () => {
    const state = model.createState();
    const e = await model.forward(state, [2, 651], { signal: aborted() }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AbortError);
    expect(e).toMatchObject({ name: 'AbortError', code: 'ERR_RG_ABORTED' });
    expect(state.position).toBe(0);
    state.dispose();
  });
});

describe('an abort during a long prefill takes effect at the next round boundary', () => {
  test('complete(): one round fed, the state at the boundary, nothing sampled', async () => {
    const ac = new AbortController();
    const { fed, restore } = spyOnForward(model, () => ac.abort());
    try {
      const state = model.createState();
      const c = await model.complete(longPrompt, { signal: ac.signal, state, maxTokens: 5 });
      expect(fed.map((f) => f.length)).toEqual([PREFILL_ROUND_TOKENS]); // the rest of the prompt was never fed
      expect(state.position).toBe(PREFILL_ROUND_TOKENS);
      expect(state.position).toBeLessThan(longPrompt.length);
      expect(c).toMatchObject({ tokens: [], finishReason: 'abort', generatedTokens: 0, promptTokens: longPrompt.length });
      expect(c.timings.prefillTokens).toBe(PREFILL_ROUND_TOKENS);
      // The state is consistent: continuing it with the rest equals prefilling everything at once.
      const rest = await model.forward(state, longPrompt.slice(PREFILL_ROUND_TOKENS));
      const whole = model.createState();
      const once = await model.forward(whole, longPrompt);
      expect(Array.from(rest)).toEqual(Array.from(once));
      state.dispose();
      whole.dispose();
    } finally {
      restore();
    }
  });

  test('without a signal the prompt goes in one call; with one, in rounds giving the same tokens', async () => {
    const { fed, restore } = spyOnForward(model);
    try {
      const plain = await model.complete(longPrompt, { maxTokens: 3, temperature: 0 });
      expect(fed[0]!.length).toBe(longPrompt.length);
      fed.length = 0;
      const rounds = await model.complete(longPrompt, { maxTokens: 3, temperature: 0, signal: new AbortController().signal });
      expect(fed.slice(0, 3).map((f) => f.length)).toEqual([256, 256, longPrompt.length - 512]);
      expect(rounds.tokens).toEqual(plain.tokens);
    } finally {
      restore();
    }
  });

  test('generateBatch: the aborted sequence stops at a round boundary, the other finishes', async () => {
    const ac = new AbortController();
    const spy = spyOnNative(() => ac.abort());
    try {
      const state = model.createState();
      const got = await model.generateBatch(
        [
          { prompt: longPrompt, options: { signal: ac.signal, state } },
          { prompt: 'y = 2\n', options: { maxTokens: 4 } },
        ],
        { temperature: 0, ignoreEos: true, prefillChunk: 64 },
      );
      expect(got[0]).toMatchObject({ tokens: [], finishReason: 'abort' });
      expect(state.position).toBe(PREFILL_ROUND_TOKENS);
      expect(got[1]).toMatchObject({ finishReason: 'length', generatedTokens: 4 });
      state.dispose();
    } finally {
      spy.restore();
    }
  });

  test('forward() and forwardBatch() reject with an AbortError at a round boundary', async () => {
    let ac = new AbortController();
    const spy = spyOnNative(() => ac.abort());
    try {
      const state = model.createState();
      await expect(model.forward(state, longPrompt, { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
      expect(spy.calls).toEqual([[PREFILL_ROUND_TOKENS]]);
      expect(state.position).toBe(PREFILL_ROUND_TOKENS);
      // Two sequences share a round's rows.
      ac = new AbortController();
      spy.calls.length = 0;
      const a = model.createState();
      const b = model.createState();
      await expect(model.forwardBatch([a, b], [longPrompt, longPrompt.slice(0, 100)], { signal: ac.signal })).rejects.toBeInstanceOf(AbortError);
      expect(spy.calls).toEqual([[PREFILL_ROUND_TOKENS / 2, 100]]);
      expect([a.position, b.position]).toEqual([PREFILL_ROUND_TOKENS / 2, 100]);
      for (const s of [state, a, b]) s.dispose();
    } finally {
      spy.restore();
    }
  });

  test('batcher.forward() with a signal rejects with an AbortError at a chunk boundary; the other calls go on', async () => {
    const batcher = model.createBatcher({ prefillChunk: 64 });
    const ac = new AbortController();
    const spy = spyOnNative(() => ac.abort());
    try {
      const a = model.createState();
      const b = model.createState();
      const aborted = batcher.forward(a, longPrompt, { signal: ac.signal });
      const other = batcher.forward(b, longPrompt.slice(0, 200));
      await expect(aborted).rejects.toBeInstanceOf(AbortError);
      await other;
      expect(spy.calls[0]).toEqual([64, 64]);
      expect(a.position).toBe(64);
      expect(b.position).toBe(200);
      a.dispose();
      b.dispose();
    } finally {
      spy.restore();
      batcher.dispose();
    }
  });

  test('forwardBatch() with a signal that never fires equals the call without one (allLogits too)', async () => {
    const a = model.createState();
    const b = model.createState();
    const ids = longPrompt.slice(0, 300);
    const plain = await model.forwardBatch([a, b], [ids, ids.slice(0, 40)], { allLogits: [true, false] });
    a.reset();
    b.reset();
    const rounds = await model.forwardBatch([a, b], [ids, ids.slice(0, 40)], { allLogits: [true, false], signal: new AbortController().signal });
    expect(Array.from(rounds[0]!)).toEqual(Array.from(plain[0]!));
    expect(Array.from(rounds[1]!)).toEqual(Array.from(plain[1]!));
    a.dispose();
    b.dispose();
  });

  test('ChatSession: a turn aborted in its prefill leaves the session as it was; one aborted while replying keeps the partial reply', async () => {
    const session = model.createChatSession({ generation: { maxTokens: 6, temperature: 0, ignoreEos: true } });
    await session.prompt('def add(a, b):');
    const before = { history: session.history, pending: session.pendingTokens, position: session.state.position, layers: session.state.layers };
    const ac = new AbortController();
    const { fed, restore } = spyOnForward(model, () => ac.abort());
    let chunks: GenerationChunk[] = [];
    try {
      const long = model.tokenizer.decode(longPrompt.slice(1));
      for await (const c of session.promptStream(long, { signal: ac.signal })) chunks.push(c);
      expect(fed.length).toBe(1);
    } finally {
      restore();
    }
    expect(chunks).toEqual([]);
    expect(session.history).toEqual(before.history);
    expect(session.pendingTokens).toEqual(before.pending);
    expect(session.state.position).toBe(before.position);
    expect(session.state.layers).toEqual(before.layers);
    // Aborted while its second token is handed out: the token being computed next is the last,
    // and the reply so far is the turn's reply.
    const ac2 = new AbortController();
    chunks = [];
    for await (const c of session.promptStream('again', { signal: ac2.signal, onToken: () => chunks.length === 1 && ac2.abort() })) chunks.push(c);
    expect(chunks.length).toBe(3);
    expect(chunks.at(-1)!.finishReason).toBe('abort');
    expect(session.history.at(-1)).toEqual({ role: 'assistant', content: chunks.map((c) => c.text).join('') });
    session.dispose();
  });
});
