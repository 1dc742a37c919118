/**
 * `recurrentgemma pull` and `--model owner/name`, spawned as a user runs them, against the local
 * hub stand-in (HF_ENDPOINT points the real client at it; HF_HOME keeps the cache in a temp dir).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEFAULT_MODEL_DIR } from '../lib';
import { cliAsync } from './helpers/cli';
import { ensureDistBuilt } from './helpers/dist';
import { HubServer } from './helpers/hub-server';
import { startServe } from './helpers/serve-cli';

const TOKEN = 'hf_cliTestToken';
let tmp: string;
let server: HubServer;

beforeAll(async () => {
  ensureDistBuilt();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-cli-hub-'));
  server = new HubServer({
    'test-org/tiny-python': { dir: DEFAULT_MODEL_DIR },
    'google/recurrentgemma-2b-it': { dir: DEFAULT_MODEL_DIR, gated: true, allowedTokens: [TOKEN] },
  });
  await server.start();
});

afterAll(async () => {
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
/** An environment with its own empty cache and no token, talking to the local hub. */
function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const home = path.join(tmp, `hf-home-${++n}`);
  const e: NodeJS.ProcessEnv = { ...process.env, HF_ENDPOINT: server.url, HF_HOME: home, ...extra };
  delete e.HF_TOKEN;
  delete e.HF_HUB_CACHE;
  delete e.HUGGING_FACE_HUB_TOKEN;
  if (extra.HF_TOKEN) e.HF_TOKEN = extra.HF_TOKEN;
  return e;
}

test('pull downloads into $HF_HOME/hub and prints the folder; --model owner/name then runs from the cache', async () => {
  const e = env();
  const before = await cliAsync(['generate', 'def f(x):', '-n', '4', '--model', 'test-org/tiny-python'], { env: e });
  expect(before.code).toBe(1);
  expect(before.stderr.trim().split('\n')).toHaveLength(1);
  expect(before.stderr).toMatch(/test-org\/tiny-python is not in the cache .*recurrentgemma pull test-org\/tiny-python/);

  const r = await cliAsync(['pull', 'test-org/tiny-python'], { env: e });
  expect(r.code).toBe(0);
  const dir = r.stdout.trim();
  expect(dir).toBe(path.join(e.HF_HOME!, 'hub', 'models--test-org--tiny-python', 'snapshots', server.commitOf('test-org/tiny-python')));
  expect(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'model.safetensors')))).toBe(true);
  expect(r.stderr).toMatch(/model\.safetensors\n/);
  expect(r.stderr).toMatch(/use it with: --model test-org\/tiny-python/);

  const local = await cliAsync(['generate', 'def f(x):', '-n', '6', '-t', '0'], { env: e });
  const cached = await cliAsync(['generate', 'def f(x):', '-n', '6', '-t', '0', '--model', 'test-org/tiny-python'], { env: e });
  expect(cached.code).toBe(0);
  expect(cached.stdout).toBe(local.stdout);
  const info = await cliAsync(['info', '--json', '--model', 'test-org/tiny-python'], { env: e });
  expect((JSON.parse(info.stdout) as { model: string }).model).toBe(dir);
});

test('a gated repository: the licence-acceptance steps, then HF_TOKEN downloads', async () => {
  const refused = await cliAsync(['pull', 'google/recurrentgemma-2b-it'], { env: env() });
  expect(refused.code).toBe(1);
  expect(refused.stdout).toBe('');
  expect(refused.stderr).toContain(`open ${server.url}/google/recurrentgemma-2b-it, log in and accept the licence`);
  expect(refused.stderr).toMatch(/export HF_TOKEN=hf_/);
  expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace

  const wrong = await cliAsync(['pull', 'google/recurrentgemma-2b-it'], { env: env({ HF_TOKEN: 'hf_someoneElse' }) });
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toMatch(/403/);

  const ok = await cliAsync(['pull', 'google/recurrentgemma-2b-it', '--dir', path.join(tmp, 'gated-dir')], { env: env({ HF_TOKEN: TOKEN }) });
  expect(ok.code).toBe(0);
  expect(ok.stdout.trim()).toBe(path.join(tmp, 'gated-dir'));
  expect(fs.existsSync(path.join(tmp, 'gated-dir', 'tokenizer.json'))).toBe(true);
});

test('a cut connection fails with a resume hint; running pull again resumes with a Range request', async () => {
  const e = env();
  const size = fs.statSync(path.join(DEFAULT_MODEL_DIR, 'model.safetensors')).size;
  server.faults = { cut: { file: 'model.safetensors', afterBytes: 4_000_000, times: 1 } };
  try {
    const cut = await cliAsync(['pull', 'test-org/tiny-python', '--retries', '0'], { env: e });
    expect(cut.code).toBe(1);
    expect(cut.stderr).toMatch(new RegExp(`model\\.safetensors failed after 4000000 of ${size} bytes .*run the command again to resume`));
    server.log.length = 0;
    const resumed = await cliAsync(['pull', 'test-org/tiny-python'], { env: e });
    expect(resumed.code).toBe(0);
    expect(server.log.some((l) => l.range === `bytes=4000000-${size - 1}`)).toBe(true);
  } finally {
    server.faults = {};
  }
});

test('a corrupted file names the file; --download pulls on first use', async () => {
  server.faults = { corrupt: { file: 'tokenizer.json' } };
  try {
    const bad = await cliAsync(['pull', 'test-org/tiny-python'], { env: env() });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/tokenizer\.json is corrupted: its sha256 is/);
  } finally {
    server.faults = {};
  }
  const r = await cliAsync(['generate', 'import', '-n', '3', '--model', 'test-org/tiny-python', '--download'], { env: env() });
  expect(r.code).toBe(0);
  expect(r.stdout.length).toBeGreaterThan(0);
});

test('serve --model owner/name loads it from the cache and serves it under that id', async () => {
  const e = env();
  expect((await cliAsync(['pull', 'test-org/tiny-python'], { env: e })).code).toBe(0);
  const serve = await startServe(['--model', 'test-org/tiny-python'], { HF_ENDPOINT: e.HF_ENDPOINT!, HF_HOME: e.HF_HOME! });
  try {
    const models = (await (await fetch(`${serve.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((m) => m.id)).toEqual(['test-org/tiny-python']);
  } finally {
    await serve.stop('SIGKILL');
  }
});
