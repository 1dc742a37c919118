/**
 * The examples in examples/ type-check (ts-jest compiles them with the project's strict
 * settings) and run against the embedded model.
 */
import { main as batch } from '../examples/batch';
import { main as chat } from '../examples/chat';
import { main as generate } from '../examples/generate';
import { main as stream } from '../examples/stream';

describe('examples', () => {
  let out: jest.SpyInstance;
  let log: jest.SpyInstance;
  let err: jest.SpyInstance;
  beforeEach(() => {
    out = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    err = jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    out.mockRestore();
    log.mockRestore();
    err.mockRestore();
  });

  test('generate.ts is reproducible with its seed', async () => {
    const a = await generate();
    expect(a.length).toBeGreaterThan(0);
    expect(await generate()).toBe(a);
    expect(log).toHaveBeenCalledWith(a);
  });

  test('stream.ts writes the same text it returns', async () => {
    const text = await stream();
    expect(out.mock.calls.map((c) => c[0]).join('')).toBe(text);
  });

  test('chat.ts holds two turns', async () => {
    const history = await chat();
    expect(history).toHaveLength(4);
    expect(history[0]).toBe('Write a Python function that reverses a string.');
  });

  test('batch.ts continues a saved, restored prefix for every request', async () => {
    const texts = await batch();
    expect(texts).toHaveLength(3);
    expect(texts[0]!.startsWith('def circle_area(r):\n')).toBe(true);
    expect(log).toHaveBeenCalledTimes(3);
  });
});
