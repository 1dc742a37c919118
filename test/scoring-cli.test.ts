/**
 * `recurrentgemma perplexity` and `recurrentgemma eval` spawned from the built dist/, their JSON
 * output checked against score() and evaluate() run in this process, and their usage errors.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEFAULT_MODEL_DIR, RecurrentGemma } from '../lib';
import type { EvalItem } from '../lib';
import { cli } from './helpers/cli';
import { ensureDistBuilt } from './helpers/dist';

const golden = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'golden.json'), 'utf8')) as { cases: { prompt: string; greedy_text: string }[] };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-scoring-cli-'));
const text = golden.cases.map((c) => c.prompt + c.greedy_text).join('\n');
const textFile = path.join(tmp, 'code.py');
const items: EvalItem[] = golden.cases.slice(0, 3).map((c, i) => ({
  context: c.prompt,
  choices: i === 1 ? ['qq zz qq', c.greedy_text.slice(0, 20)] : [c.greedy_text.slice(0, 20), 'qq zz qq'],
  gold: i === 1 ? 1 : 0,
}));
const taskFile = path.join(tmp, 'tasks.jsonl');
const prefixFile = path.join(tmp, 'fewshot.txt');

let model: RecurrentGemma;
beforeAll(async () => {
  ensureDistBuilt();
  fs.writeFileSync(textFile, text);
  fs.writeFileSync(taskFile, items.map((it) => JSON.stringify(it)).join('\n') + '\n');
  fs.writeFileSync(prefixFile, 'import os\n\n');
  model = await RecurrentGemma.load(DEFAULT_MODEL_DIR);
});
afterAll(() => {
  model?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('recurrentgemma perplexity', () => {
  test('--file --json reports what score() computes; stdin gives the same; the plain form is one line', async () => {
    const want = await model.score(text);
    const r = cli(['perplexity', '--file', textFile, '--json', '--chunk-size', '100']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({ source: textFile, tokens: want.scoredTokens, complete: true, chunkSize: 100 });
    expect(report.perplexity as number).toBeCloseTo(want.perplexity, 4);
    expect(report.logLikelihood as number).toBeCloseTo(want.logLikelihood, 2);
    expect(report.tokensPerSecond as number).toBeGreaterThan(0);
    const piped = cli(['perplexity', '--json'], { input: text });
    expect(piped.code).toBe(0);
    expect((JSON.parse(piped.stdout) as { perplexity: number }).perplexity).toBeCloseTo(want.perplexity, 4);
    const plain = cli(['perplexity', '-f', textFile]);
    expect(plain.stdout).toMatch(new RegExp(`^perplexity ${want.perplexity.toFixed(4)} over ${want.scoredTokens} tokens .* tokens/s\\n$`));
  });

  test('bad usage exits 2 naming the problem', () => {
    const missing = cli(['perplexity', '--file', path.join(tmp, 'nope.txt')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/nope\.txt: no such file/);
    expect(cli(['perplexity', '--json'], { input: '' }).stderr).toMatch(/stdin is empty/);
    expect(cli(['perplexity', '--chunk-size', '0'], { input: 'x' }).code).toBe(2);
  });
});

describe('recurrentgemma eval', () => {
  test('--json summary equals evaluate() with the same few-shot prefix', async () => {
    const want = await model.evaluate(items, { prefix: 'import os\n\n' });
    const r = cli(['eval', '--file', taskFile, '--prefix-file', prefixFile, '--json', '--items']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { items: number; acc: number; acc_norm: number; acc_stderr: number; results: { logLikelihoods: number[] }[] };
    expect(summary).toMatchObject({ items: 3, acc: want.acc, acc_norm: want.accNorm, acc_stderr: want.accStderr });
    summary.results.forEach((res, i) => res.logLikelihoods.forEach((ll, j) => expect(ll).toBeCloseTo(want.results[i]!.logLikelihoods[j]!, 4)));
    const plain = cli(['eval', '--file', taskFile, '--limit', '2']);
    expect(plain.code).toBe(0);
    expect(plain.stdout).toMatch(/2 items in [\d.]+ s\nacc +[\d.]+ ± [\d.]+\nacc_norm +[\d.]+ ± [\d.]+\n$/);
  });

  test('a malformed task file exits 2 naming the file and line', () => {
    const bad = path.join(tmp, 'bad.jsonl');
    fs.writeFileSync(bad, `${JSON.stringify(items[0])}\n{"context": "x", "choices": ["a"], "gold": 3}\n`);
    const r = cli(['eval', '--file', bad]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/bad\.jsonl:2: "gold" must be an integer index/);
    expect(cli(['eval']).code).toBe(2); // --file is required
  });
});
