/**
 * Explicit resource management: `using` / `await using` on models, states, chat sessions and
 * batchers, and a model's dispose() disposing what it made, so using any of it afterwards fails
 * with DisposedError (never a crash).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as vm from 'vm';

import * as ts from 'typescript';

import { DisposedError, RecurrentGemma, type ChatSession, type ForwardBatcher, type ModelState } from '../lib';

test('on a runtime without Symbol.dispose (a fresh vm context has none) the package defines the symbols Node uses', () => {
  const ctx = vm.createContext({ exports: {} });
  expect(vm.runInContext('typeof Symbol.dispose', ctx)).toBe('undefined');
  const source = fs.readFileSync(path.join(__dirname, '..', 'lib', 'dispose.ts'), 'utf8');
  vm.runInContext(ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 } }).outputText, ctx);
  // Registered symbols are shared by every realm: objects made here are disposable there.
  expect(vm.runInContext('Symbol.dispose', ctx)).toBe(Symbol.for('nodejs.dispose'));
  expect(vm.runInContext('Symbol.asyncDispose', ctx)).toBe(Symbol.for('nodejs.asyncDispose'));
  expect(Symbol.dispose).toBe(Symbol.for('nodejs.dispose'));
});

test('Symbol.dispose exists at runtime and every resource class implements both protocols', async () => {
  expect(typeof Symbol.dispose).toBe('symbol');
  expect(typeof Symbol.asyncDispose).toBe('symbol');
  await using model = await RecurrentGemma.load();
  const state = model.createState();
  const session = model.createChatSession();
  const batcher = model.createBatcher();
  for (const r of [model, state, session, batcher]) {
    expect(typeof (r as unknown as Disposable)[Symbol.dispose]).toBe('function');
    expect(typeof (r as unknown as AsyncDisposable)[Symbol.asyncDispose]).toBe('function');
  }
});

test('`using` disposes at the end of the block, in reverse order', async () => {
  let escaped: { model: RecurrentGemma; state: ModelState; session: ChatSession; batcher: ForwardBatcher };
  {
    using model = await RecurrentGemma.load();
    using state = model.createState();
    await using session = model.createChatSession();
    using batcher = model.createBatcher();
    await model.forward(state, [2, 651]);
    expect(state.position).toBe(2);
    escaped = { model, state, session, batcher };
  }
  expect(escaped.model.disposed).toBe(true);
  expect(escaped.state.disposed).toBe(true);
  expect(escaped.session.disposed).toBe(true);
  expect(escaped.batcher.disposed).toBe(true);
});

test("disposing a model disposes its states, sessions and batchers: using them fails with DisposedError", async () => {
  const model = await RecurrentGemma.load();
  const state = model.createState();
  const clone = state.clone();
  const session = model.createChatSession({ generation: { maxTokens: 2 } });
  const batcher = model.createBatcher();
  await model.forward(state, [2, 651]);
  model.dispose();
  for (const s of [state, clone]) {
    expect(s.disposed).toBe(true);
    expect(() => s.position).toThrow(DisposedError);
  }
  expect(session.disposed).toBe(true);
  await expect(session.prompt('hi')).rejects.toThrow(DisposedError);
  expect(batcher.disposed).toBe(true);
  await expect(batcher.forward(state, [2])).rejects.toThrow(DisposedError);
  await expect(model.complete('x')).rejects.toThrow(DisposedError);
  expect(() => model.createState()).toThrow(DisposedError);
});

test('a generation in flight when its model is disposed ends with DisposedError', async () => {
  const model = await RecurrentGemma.load();
  const stream = model.generate('def f():\n', { maxTokens: 50, ignoreEos: true });
  await stream.next();
  model.dispose();
  await expect(stream.next()).rejects.toThrow(DisposedError);
});

test('disposing a batcher rejects the calls still waiting for a step', async () => {
  const model = await RecurrentGemma.load();
  try {
    const batcher = model.createBatcher();
    const state = model.createState();
    const waiting = batcher.forward(state, [2, 651, 9]);
    batcher.dispose(); // before its step ran (steps start on setImmediate)
    await expect(waiting).rejects.toThrow(DisposedError);
    expect(state.position).toBe(0);
  } finally {
    model.dispose();
  }
});
