/**
 * The `recurrentgemma` CLI as a user runs it: `node dist/cli/main.js ...` in a child process.
 * stdout must hold exactly the generated text (compared with golden.json), diagnostics go to
 * stderr, and exit codes follow the documented convention (usage 2, runtime 1).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEFAULT_MODEL_DIR, Tokenizer } from '../lib';
import { ensureDistBuilt } from './helpers/dist';

const root = path.join(__dirname, '..');
const tokenizer = Tokenizer.load(DEFAULT_MODEL_DIR);
const main = path.join(root, 'dist', 'cli', 'main.js');
const golden = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'golden.json'), 'utf8')) as {
  cases: { name: string; prompt: string; greedy_ids: number[]; greedy_text: string; top2_margins: number[] }[];
};

// The CLI runs from dist/: rebuilt when lib/ changed since the last build.
beforeAll(ensureDistBuilt);

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: root, input: input ?? '', encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('recurrentgemma CLI', () => {
  test('dist/cli/main.js is an executable node script', () => {
    expect(fs.readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(fs.statSync(main).mode & 0o111).not.toBe(0);
  });

  test.each(['fibonacci', 'imports', 'class'])('generate -t 0 prints exactly the golden greedy text (%s)', (name) => {
    const c = golden.cases.find((x) => x.name === name)!;
    const r = cli(['generate', c.prompt, '--temperature', '0', '--max-tokens', String(c.greedy_ids.length)]);
    expect(r.code).toBe(0);
    const firstTie = c.top2_margins.findIndex((m) => m < 0.005);
    if (r.stdout !== c.greedy_text && firstTie >= 0) {
      // Only a near tie of the reference may flip under another float summation order: the text
      // before the first near tie must still match.
      expect(r.stdout.startsWith(tokenizer.decode(c.greedy_ids.slice(0, firstTie)))).toBe(true);
      return;
    }
    expect(r.stdout).toBe(c.greedy_text);
  });

  test('generate reads the prompt from stdin; stats go to stderr only', () => {
    const c = golden.cases.find((x) => x.name === 'imports')!;
    const r = cli(['generate', '-t', '0', '-n', '12', '--stats'], c.prompt);
    expect(r.code).toBe(0);
    expect(c.greedy_text.startsWith(r.stdout)).toBe(true);
    expect(r.stdout.length).toBeGreaterThan(10);
    expect(r.stderr).toMatch(/generated 12 tokens/);
  });

  test('seeded sampling is reproducible from the command line, and --stop cuts the text', () => {
    const args = ['generate', 'def fibonacci(n):', '-n', '20', '--seed', '5', '--top-k', '20', '--ignore-eos'];
    const a = cli(args);
    expect(a.code).toBe(0);
    expect(cli(args).stdout).toBe(a.stdout);
    const c = golden.cases.find((x) => x.name === 'fibonacci')!;
    const stopped = cli(['generate', c.prompt, '-t', '0', '-n', '48', '--stop', 'Parameters']);
    expect(stopped.stdout).toBe(c.greedy_text.slice(0, c.greedy_text.indexOf('Parameters')));
  });

  test('bad usage exits 2 with a message on stderr and nothing on stdout', () => {
    for (const args of [
      ['generate', 'x', '--top-p', '2'],
      ['generate', 'x', '--temperature', 'hot'],
      ['generate', 'x', '--max-tokens', '1.5'],
      ['generate', 'x', '--simd', 'sse9'],
      ['generate', 'x', '--no-such-option'],
      ['no-such-command'],
    ]) {
      const r = cli(args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr).toMatch(/error/);
    }
  });

  test('a runtime error exits 1 with one line on stderr', () => {
    const r = cli(['generate', 'x', '--model', path.join(root, 'no', 'such', 'model')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/no[/]such[/]model: does not exist$/m);
  });

  test('--help works for the program and every command', () => {
    for (const args of [['--help'], ['generate', '--help'], ['chat', '--help'], ['info', '--help']]) {
      const r = cli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/Usage: recurrentgemma/);
    }
    expect(cli(['generate', '--help']).stdout).toMatch(/--max-tokens[\s\S]*--top-p[\s\S]*--repetition-penalty[\s\S]*--seed[\s\S]*--stop/);
  });

  test('info reports config, parameters, dtype, state size and runtime', () => {
    const r = cli(['info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout) as Record<string, unknown> & { config: { vocabSize: number }; runtime: { simd: string; threads: number } };
    expect(info).toMatchObject({ embeddedDemoModel: true, parameters: 5858560, dtype: 'BF16', tokenizer: { vocabSize: 4096, chatTemplate: true } });
    expect(info.config.vocabSize).toBe(4096);
    expect(info.stateBytes).toBeGreaterThan(0);
    expect(typeof info.runtime.simd).toBe('string');
    const table = cli(['info']);
    expect(table.stdout).toMatch(/parameters\s+5,858,560/);
    expect(table.stdout).toMatch(/state\s+[\d,]+ bytes/);
  });

  test('chat answers each stdin line as a turn and keeps history across turns', () => {
    const r = cli(['chat', '-n', '8', '--seed', '1'], 'def add(a, b):\n/stats\nclass Stack:\n/history\n');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/2 messages, state at position \d+/);
    expect(r.stdout).toMatch(/user: def add\(a, b\):\nassistant: /);
    expect(r.stdout).toMatch(/user: class Stack:\nassistant: /);
  });

  test('--json-schema (file or inline) and --grammar constrain generate and chat; bad ones are usage errors', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-cli-grammar-'));
    try {
      const schema = { type: 'object', properties: { n: { type: 'integer', minimum: 0, maximum: 99 }, ok: { type: 'boolean' } }, required: ['n', 'ok'], additionalProperties: false };
      fs.writeFileSync(path.join(dir, 'schema.json'), JSON.stringify(schema));
      fs.writeFileSync(path.join(dir, 'answer.gbnf'), 'root ::= ("yes" | "no") "."\n');
      for (const value of [path.join(dir, 'schema.json'), JSON.stringify(schema)]) {
        const r = cli(['generate', 'def f():', '--json-schema', value, '--seed', '4']);
        expect(r.code).toBe(0);
        const v = JSON.parse(r.stdout) as { n: number; ok: boolean };
        expect(Object.keys(v)).toEqual(['n', 'ok']);
        expect(Number.isInteger(v.n) && v.n >= 0 && v.n <= 99 && typeof v.ok === 'boolean').toBe(true);
      }
      const g = cli(['generate', 'x', '--grammar', path.join(dir, 'answer.gbnf'), '--seed', '2']);
      expect(g.stdout).toMatch(/^(yes|no)\.$/);
      const chat = cli(['chat', '--grammar', path.join(dir, 'answer.gbnf'), '--seed', '1'], 'is it?\nreally?\n/history\n');
      expect(chat.code).toBe(0);
      expect(chat.stdout.match(/assistant: (yes|no)\.\n/g)).toHaveLength(2);
      const bad = cli(['generate', 'x', '--json-schema', '{"type":"object","minProperties":1}']);
      expect(bad.code).toBe(2);
      expect(bad.stdout).toBe('');
      expect(bad.stderr).toMatch(/--json-schema: .*"minProperties"/);
      expect(cli(['generate', 'x', '--grammar', path.join(dir, 'missing.gbnf')]).stderr).toMatch(/--grammar: cannot read/);
      expect(cli(['generate', 'x', '--json-schema', '{"type":']).stderr).toMatch(/--json-schema: the value is not valid JSON/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('generate --json prints one object: text, tokens, finishReason, counts and timings', () => {
    const c = golden.cases.find((x) => x.name === 'imports')!;
    const r = cli(['generate', c.prompt, '-t', '0', '-n', '6', '--ignore-eos', '--json']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    const out = JSON.parse(lines[0]!) as { text: string; tokens: number[]; finishReason: string; promptTokens: number; generatedTokens: number; timings: Record<string, number> };
    expect(out.tokens).toEqual(c.greedy_ids.slice(0, 6));
    expect(out.text).toBe(tokenizer.decode(c.greedy_ids.slice(0, 6)));
    expect(out).toMatchObject({ finishReason: 'length', promptTokens: tokenizer.encode(c.prompt).length, generatedTokens: 6 });
    expect(out.timings).toMatchObject({ prefillTokens: out.promptTokens, decodeTokens: 5 });
    for (const k of ['loadMs', 'prefillMs', 'prefillTokensPerSecond', 'timeToFirstTokenMs', 'decodeMs', 'decodeTokensPerSecond']) expect(typeof out.timings[k]).toBe('number');
  });

  test('generate --tokens feeds the ids as given; bad ids name the flag and the id', () => {
    const c = golden.cases.find((x) => x.name === 'class')!;
    const ids = tokenizer.encode(c.prompt);
    const r = cli(['generate', '--tokens', ids.join(','), '-t', '0', '-n', '5', '--ignore-eos', '--json']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as { tokens: number[] }).tokens).toEqual(c.greedy_ids.slice(0, 5));
    const range = cli(['generate', '--tokens', '2,99999', '-n', '2']);
    expect({ code: range.code, stdout: range.stdout }).toEqual({ code: 2, stdout: '' });
    expect(range.stderr).toMatch(/--tokens: token id 99999 at index 1 is outside the vocabulary/);
    const junk = cli(['generate', '--tokens', '2,-1', '-n', '2']);
    expect(junk.code).toBe(2);
    expect(junk.stderr).toMatch(/--tokens.*"-1" is not a token id/);
    expect(cli(['generate', 'text', '--tokens', '2']).stderr).toMatch(/not both/);
  });

  test('a reply cut by --max-tokens is marked [length] on stderr (stdout stays the text); --stats shows timings', () => {
    const r = cli(['generate', 'def f():', '-n', '3', '--ignore-eos', '--stats']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/^\[length\] stopped after 3 tokens/m);
    expect(r.stderr).toMatch(/first token [\d.]+ ms, prefill \d+ tokens in [\d.]+ ms \([\d.]+ tokens\/s\), decode 2 tokens in [\d.]+ ms \([\d.]+ tokens\/s\)/);
    expect(r.stdout).not.toMatch(/\[length\]/);
    const chat = cli(['chat', '-n', '2', '--ignore-eos'], 'def add(a, b):\n');
    expect(chat.stderr).toMatch(/\[length\]/);
  });

  test('--precision, --weights and --huge-pages load the model as the API options do (info reports them)', () => {
    const r = cli(['info', '--json', '--weights', 'int8', '--precision', 'exact', '--huge-pages']);
    expect(r.code).toBe(0);
    expect(JSON.stringify(JSON.parse(r.stdout))).toMatch(/"weights":"int8"/);
    const g = cli(['generate', 'x = ', '-n', '2', '--weights', 'q4', '--precision', 'fast', '--huge-pages']);
    expect(g.code).toBe(0);
    const bad = cli(['generate', 'x', '--weights', 'int3']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--weights/);
  });

  test('chat --system starts the first turn; /stats shows timings; /save and /load keep the conversation', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rg-cli-chat-')), 'chat.rgstate');
    const r = cli(['chat', '-n', '4', '-t', '0', '--system', 'Answer in Python.'], `def add(a, b):\n/stats\n/save ${file}\n/reset\n/load ${file}\n/history\n`);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/last reply: \d+ tokens \[\w+\]; load [\d.]+ ms, first token [\d.]+ ms, prefill \d+ tokens/);
    expect(r.stderr).toMatch(/saved 3 messages/);
    expect(r.stderr).toMatch(/loaded 3 messages/);
    expect(r.stdout).toMatch(/system: Answer in Python\.\nuser: def add\(a, b\):\nassistant: /);
    const missing = cli(['chat'], '/load /no/such/file\n');
    expect(missing.code).toBe(0);
    expect(missing.stderr).toMatch(/\/load failed: .*no such file/i);
  });
});
