/**
 * System prompts and starting a chat from an existing conversation. Gemma's format has no system
 * role (the demo folder's template, Hugging Face's Gemma template, raises on one): the system text
 * goes at the start of the first user turn, then a blank line. Checked against Gemma's turn format
 * written out by hand and against the tokens the session feeds the model.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ChatTemplate, foldSystemPrompt, InvalidArgumentError, RecurrentGemma, type ChatMessage } from '../lib';
import { spyOnForward } from './helpers/forward-spy';

let model: RecurrentGemma;
let tmp: string;
beforeAll(async () => {
  model = await RecurrentGemma.load();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-chat-system-'));
});
afterAll(() => {
  model.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const SYSTEM = 'You answer in Python only.';
const expectedFirstTurn = `<bos><start_of_turn>user\n${SYSTEM}\n\nsort a list<end_of_turn>\n<start_of_turn>model\n`;

describe('foldSystemPrompt', () => {
  test('puts the system text before the first user message, separated by a blank line', () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'U' },
      { role: 'assistant', content: 'A' },
    ];
    expect(foldSystemPrompt(messages)).toEqual([
      { role: 'user', content: 'S\n\nU' },
      { role: 'assistant', content: 'A' },
    ]);
    expect(foldSystemPrompt(messages.slice(1))).toEqual(messages.slice(1));
    expect(() => foldSystemPrompt([{ role: 'system', content: 'S' }])).toThrow(/followed by a user message/);
  });

  test("both the folder's Jinja template (which raises on a system role) and the built-in format render it", () => {
    const t = model.tokenizer;
    const messages: ChatMessage[] = [
      { role: 'system', content: SYSTEM },
      { role: 'user', content: 'sort a list' },
    ];
    expect(new ChatTemplate(t.chatTemplate, t.bosToken).render(messages, true)).toBe(expectedFirstTurn);
    expect(new ChatTemplate(undefined, t.bosToken).render(messages, true)).toBe(expectedFirstTurn);
  });
});

describe('createChatSession({ systemPrompt })', () => {
  test('the first turn carries the system text; history lists it; reset keeps it; save/restore keeps it', async () => {
    const session = model.createChatSession({ systemPrompt: SYSTEM, generation: { maxTokens: 5, temperature: 0 } });
    const { fed, restore } = spyOnForward(model);
    try {
      await session.prompt('sort a list');
      expect(model.tokenizer.decode(fed[0]!)).toBe(expectedFirstTurn);
    } finally {
      restore();
    }
    expect(session.history.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(session.history[0]).toEqual({ role: 'system', content: SYSTEM });
    const file = path.join(tmp, 'system.rgstate');
    await session.save(file);
    const back = await model.loadChatSession(file);
    expect(back.history).toEqual(session.history);
    back.dispose();
    session.reset();
    expect(session.history).toEqual([{ role: 'system', content: SYSTEM }]);
    expect(session.turnTokens('sort a list')).toEqual(model.tokenizer.encode(expectedFirstTurn, { addBos: false }));
    session.dispose();
  });
});

describe('createChatSession({ history })', () => {
  const history: ChatMessage[] = [
    { role: 'system', content: SYSTEM },
    { role: 'user', content: 'add two numbers' },
    { role: 'assistant', content: 'def add(a, b):\n    return a + b' },
  ];

  test('the first prompt prefills the given conversation and the new turn: the same text as rendering all of it', async () => {
    const session = model.createChatSession({ history, generation: { maxTokens: 4, temperature: 0 } });
    expect(session.history).toEqual(history);
    expect(session.state.position).toBe(0); // prefilled lazily, with the first prompt
    const { fed, restore } = spyOnForward(model);
    try {
      await session.prompt('and multiply?');
    } finally {
      restore();
    }
    const all = [...history, { role: 'user', content: 'and multiply?' } as ChatMessage];
    const rendered = new ChatTemplate(model.tokenizer.chatTemplate, model.tokenizer.bosToken).render(all, true);
    expect(model.tokenizer.decode(fed[0]!)).toBe(rendered);
    expect(session.history.slice(0, 4)).toEqual(all);
    session.dispose();
  });

  test('malformed histories are refused with an InvalidArgumentError naming the message', () => {
    const bad: [unknown, RegExp][] = [
      ['not an array', /history must be an array/],
      [[{ role: 'assistant', content: 'x' }], /history\[0\] must be a user message/],
      [[{ role: 'user', content: 'x' }, { role: 'user', content: 'y' }], /history\[1\] must be a assistant message/],
      [[{ role: 'user', content: 'x' }, { role: 'system', content: 'y' }], /only the first message may be a system message/],
      [[{ role: 'user', content: 42 }], /history\[0\]\.content must be a string/],
      [[null], /history\[0\] must be a \{ role, content \} object/],
      [[{ role: 'user', content: 'x' }], /must end with an assistant reply/],
    ];
    for (const [h, re] of bad) {
      expect(() => model.createChatSession({ history: h as ChatMessage[] })).toThrow(InvalidArgumentError);
      expect(() => model.createChatSession({ history: h as ChatMessage[] })).toThrow(re);
    }
    expect(() => model.createChatSession({ systemPrompt: 'a', history })).toThrow(/system prompt once/);
    expect(() => model.createChatSession({ systemPrompt: '' })).toThrow(/systemPrompt must be a non-empty string/);
  });
});
