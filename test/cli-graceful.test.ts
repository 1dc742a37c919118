/**
 * The CLI fails gracefully: one line on stderr and a meaningful exit code, never a stack trace.
 * Spawned as a user runs it (see test/helpers/cli.ts).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { cli, cliMain, root } from './helpers/cli';
import { ensureDistBuilt } from './helpers/dist';

let tmp: string;

beforeAll(() => {
  ensureDistBuilt();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-cli-graceful-'));
});

afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const STACK = /\n\s+at |node:internal|Error: .*\n.*\.js:\d+/;

function bash(script: string) {
  const r = spawnSync('bash', ['-c', script], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('a missing or unloadable native addon', () => {
  /** A copy of the installed package without build/ or prebuilds/ (what a skipped install script leaves). */
  function packageWithoutAddon(): string {
    const pkg = path.join(tmp, 'pkg');
    if (!fs.existsSync(pkg)) {
      fs.mkdirSync(pkg);
      fs.copyFileSync(path.join(root, 'package.json'), path.join(pkg, 'package.json'));
      fs.cpSync(path.join(root, 'dist'), path.join(pkg, 'dist'), { recursive: true });
      fs.symlinkSync(path.join(root, 'node_modules'), path.join(pkg, 'node_modules'));
      fs.symlinkSync(path.join(root, 'models'), path.join(pkg, 'models'));
    }
    return path.join(pkg, 'dist', 'cli', 'main.js');
  }

  test('--help and validate work; commands that need it print one line saying what to run', () => {
    const main = packageWithoutAddon();
    const env = { ...process.env };
    delete env.RECURRENTGEMMA_ADDON_PATH;
    const help = cli(['--help'], { main, env });
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Usage: recurrentgemma/);
    expect(cli(['validate'], { main, env }).code).toBe(0); // pure TypeScript
    for (const args of [['generate', 'x'], ['info'], ['chat']]) {
      const r = cli(args, { main, env, input: 'hi\n' });
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^recurrentgemma: the native addon of recurrentgemma is not built for \S+ .*`npm rebuild recurrentgemma`.*C\+\+17 compiler.*`npm install-scripts approve recurrentgemma`/);
      expect(r.stderr).not.toMatch(STACK);
    }
  });

  test('a broken .node file (RECURRENTGEMMA_ADDON_PATH) is named in one line', () => {
    const bad = path.join(tmp, 'broken.node');
    fs.writeFileSync(bad, 'not an ELF file');
    const env = { ...process.env, RECURRENTGEMMA_ADDON_PATH: bad };
    expect(cli(['generate', '--help'], { env }).code).toBe(0);
    const r = cli(['generate', 'x'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`cannot load the native addon RECURRENTGEMMA_ADDON_PATH=${bad}`);
    expect(r.stderr).not.toMatch(STACK);
  });
});

describe('stdout that cannot be written', () => {
  test('a reader that closes the pipe (| head -n 1) ends the command quietly with exit 0', () => {
    const r = bash(`"${process.execPath}" "${cliMain}" generate "def f(x):" -n 300 --ignore-eos -t 0 | head -n 1; exit \${PIPESTATUS[0]}`);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').length).toBeLessThanOrEqual(2);
    expect(r.stderr).toBe('');
  });

  (process.platform === 'linux' ? test : test.skip)('a full disk (/dev/full) is one line on stderr and exit 1', () => {
    for (const args of ['generate "def f(x):" -n 20', 'info', '--help']) {
      const r = bash(`"${process.execPath}" "${cliMain}" ${args} > /dev/full`);
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toBe('recurrentgemma: cannot write to stdout (ENOSPC)\n');
    }
  });
});

describe('--model that is not a checkpoint', () => {
  test('a missing path "does not exist"; a folder without weights lists the files a checkpoint needs and suggests validate', () => {
    const missing = path.join(tmp, 'no-such-model');
    const r = cli(['generate', 'x', '--model', missing]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`recurrentgemma: ${missing}: does not exist\n`);

    const noWeights = path.join(tmp, 'no-weights');
    fs.mkdirSync(noWeights);
    for (const f of ['config.json', 'tokenizer.json']) fs.copyFileSync(path.join(root, 'models', 'tiny-python', f), path.join(noWeights, f));
    const w = cli(['info', '--model', noWeights]);
    expect(w.code).toBe(1);
    expect(w.stderr.trim().split('\n')).toHaveLength(1);
    expect(w.stderr).toMatch(/no weights \(a checkpoint folder holds config\.json, the weights \(model\.safetensors, or model\.safetensors\.index\.json and the shards it lists\)/);
    expect(w.stderr).toMatch(/found config\.json, tokenizer\.json/);
    expect(w.stderr).toContain(`recurrentgemma validate --model ${noWeights}`);
    // validate gives the same finding as a report, exit 1.
    const v = cli(['validate', '--model', noWeights]);
    expect(v.code).toBe(1);
    expect(v.stdout).toMatch(/^INVALID: /);
    expect(v.stdout).toMatch(/error ERR_RG_FILE_NOT_FOUND: .*no weights/);
  });
});

describe('messages name what the user typed', () => {
  test.each([
    [['--stop-token', '-1'], /^error: --stop-token must be a token id ≥ 0, got -1$/m],
    [['--stop-token', '5000'], /^error: --stop-token must be an integer in \[0, 4095\], got 5000$/m],
    [['--max-tokens', '0'], /^error: --max-tokens must be an integer ≥ 1, got 0$/m],
    [['--top-k', '-1'], /^error: --top-k must be an integer ≥ 0, got -1$/m],
    [['--stop', ''], /^error: --stop must be a non-empty string, got ""$/m],
    [['--threads', '0'], /^error: --threads must be an integer in \[1, 256\], got 0$/m],
  ])('generate %j', (flags, message) => {
    const r = cli(['generate', 'x', ...flags]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/stopTokens|maxTokens|topK|Infinity/);
  });

  test('an empty prompt (stdin or argument) is a usage error, not a generation from <bos>', () => {
    for (const [args, input] of [[['generate'], ''], [['generate'], '  \n'], [['generate', ''], '']] as const) {
      const r = cli([...args], { input });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/the prompt (on stdin )?is empty/);
    }
  });

  test('info --threads 1 says "1 thread"', () => {
    expect(cli(['info', '--threads', '1']).stdout).toMatch(/simd \w+, 1 thread, /);
    expect(cli(['info', '--threads', '2']).stdout).toMatch(/simd \w+, 2 threads, /);
  });
});
