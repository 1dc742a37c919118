/**
 * pullModel() and resolveModelDir() against a local stand-in of the Hugging Face hub
 * (test/helpers/hub-server.ts): the real @huggingface/hub client makes the requests, the server
 * answers in the hub's layout and injects the faults (gated repo, cut connection, corruption).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEFAULT_MODEL_DIR, HubError, IntegrityError, openCheckpoint, pullModel, resolveModelDir, synthesizeCheckpoint, Tokenizer, type PullProgress } from '../lib';
import { HubServer } from './helpers/hub-server';

const TOKEN = 'hf_allowedTestToken';
let tmp: string;
let shardedDir: string;
let server: HubServer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-hub-'));
  // No token from the environment of whoever runs the tests.
  delete process.env.HF_TOKEN;
  delete process.env.HUGGING_FACE_HUB_TOKEN;
  process.env.HF_TOKEN_PATH = path.join(tmp, 'no-token-file');
  shardedDir = path.join(tmp, 'sharded-src');
  synthesizeCheckpoint(shardedDir, { preset: 'tiny', dtype: 'f32', shardBytes: 1 << 16 });
  server = new HubServer({
    'test-org/tiny-python': { dir: DEFAULT_MODEL_DIR },
    'test-org/sharded': { dir: shardedDir },
    'google/gated-model': { dir: DEFAULT_MODEL_DIR, gated: true, allowedTokens: [TOKEN] },
  });
  await server.start();
});

afterAll(async () => {
  await server.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

let n = 0;
function freshCache(): string {
  return path.join(tmp, `cache-${++n}`);
}

function pull(repo: string, cacheDir: string, extra: Parameters<typeof pullModel>[1] = {}) {
  return pullModel(repo, { endpoint: server.url, cacheDir, retryDelayMs: 0, ...extra });
}

function sameBytes(a: string, b: string): boolean {
  return fs.readFileSync(a).equals(fs.readFileSync(b));
}

describe('pullModel', () => {
  test('downloads the model files into the Hugging Face cache layout; the folder loads', async () => {
    const cacheDir = freshCache();
    const events: PullProgress[] = [];
    server.log.length = 0;
    const r = await pull('test-org/tiny-python', cacheDir, { onProgress: (p) => events.push(p) });
    const commit = server.commitOf('test-org/tiny-python');
    const storage = path.join(cacheDir, 'models--test-org--tiny-python');
    expect(r.commit).toBe(commit);
    expect(r.dir).toBe(path.join(storage, 'snapshots', commit));
    expect(fs.readFileSync(path.join(storage, 'refs', 'main'), 'utf8')).toBe(commit);
    // README.md and golden.json are not model files; everything else is, byte for byte.
    expect(r.files.map((f) => f.path)).toEqual(['config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer.model', 'tokenizer_config.json']);
    for (const f of server.filesOf('test-org/tiny-python').filter((f) => r.files.some((x) => x.path === f.path))) {
      const link = path.join(r.dir, f.path);
      expect(fs.lstatSync(link).isSymbolicLink()).toBe(true);
      // Blobs are named like huggingface_hub names them: sha256 for LFS files, git blob id otherwise.
      expect(fs.realpathSync(link)).toBe(fs.realpathSync(path.join(storage, 'blobs', f.lfs ? f.sha256 : f.oid)));
      expect(sameBytes(link, path.join(DEFAULT_MODEL_DIR, f.path))).toBe(true);
    }
    expect(r.downloadedBytes).toBe(r.files.reduce((s, f) => s + f.size, 0));
    expect(openCheckpoint(r.dir).config.vocabSize).toBe(openCheckpoint(DEFAULT_MODEL_DIR).config.vocabSize);
    expect(Tokenizer.load(r.dir).encode('def f(x):')).toEqual(Tokenizer.load(DEFAULT_MODEL_DIR).encode('def f(x):'));
    // Progress is monotonic and ends at the total.
    const last = events[events.length - 1]!;
    expect(last.bytes).toBe(last.totalBytes);
    for (let i = 1; i < events.length; i++) expect(events[i]!.bytes).toBeGreaterThanOrEqual(events[i - 1]!.bytes);
    // The client asked the hub's own endpoints, with the LFS download following the redirect.
    const urls = server.log.map((l) => `${l.method} ${l.url.split('?')[0]}`);
    expect(urls).toContain('GET /api/models/test-org/tiny-python/revision/main');
    expect(urls).toContain(`GET /api/models/test-org/tiny-python/tree/${commit}`);
    expect(urls).toContain(`HEAD /test-org/tiny-python/resolve/${commit}/model.safetensors`);
    expect(urls.some((u) => u.startsWith('GET /cdn/'))).toBe(true);

    // A second pull finds everything in place and downloads nothing.
    server.log.length = 0;
    const again = await pull('test-org/tiny-python', cacheDir);
    expect(again.downloadedBytes).toBe(0);
    expect(again.files.every((f) => !f.downloaded)).toBe(true);
    expect(server.log.some((l) => l.url.includes('/resolve/') || l.url.startsWith('/cdn/'))).toBe(false);
  });

  test('a sharded repository: index and every shard', async () => {
    const r = await pull('test-org/sharded', freshCache());
    const shards = fs.readdirSync(shardedDir).filter((f) => f.endsWith('.safetensors'));
    expect(shards.length).toBeGreaterThan(1);
    expect(r.files.map((f) => f.path)).toEqual(expect.arrayContaining(['model.safetensors.index.json', ...shards]));
    for (const s of shards) expect(sameBytes(path.join(r.dir, s), path.join(shardedDir, s))).toBe(true);
    expect(openCheckpoint(r.dir).files.length).toBe(shards.length);
  });

  test('a connection cut halfway through a shard: the next run resumes with a Range request', async () => {
    const cacheDir = freshCache();
    const shard = fs.readdirSync(shardedDir).filter((f) => f.endsWith('.safetensors')).sort()[1]!;
    const size = fs.statSync(path.join(shardedDir, shard)).size;
    const half = Math.floor(size / 2);
    server.faults = { cut: { file: shard, afterBytes: half, times: 1 } };
    try {
      const err = await pull('test-org/sharded', cacheDir, { retries: 0 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HubError);
      expect((err as HubError).code).toBe('ERR_RG_HUB_NETWORK');
      expect((err as HubError).message).toMatch(new RegExp(`${shard.replace(/\./g, '\\.')} failed after ${half} of ${size} bytes.*run the command again to resume`));
      const sha = server.filesOf('test-org/sharded').find((f) => f.path === shard)!.sha256;
      const partial = path.join(cacheDir, 'models--test-org--sharded', 'blobs', `${sha}.incomplete`);
      expect(fs.statSync(partial).size).toBe(half);
      expect(fs.existsSync(path.join(cacheDir, 'models--test-org--sharded', 'refs', 'main'))).toBe(false);

      server.log.length = 0;
      const r = await pull('test-org/sharded', cacheDir, { retries: 0 });
      expect(server.log.some((l) => l.url.startsWith('/cdn/') && l.range === `bytes=${half}-${size - 1}`)).toBe(true);
      expect(r.downloadedBytes).toBe(r.files.filter((f) => f.downloaded).reduce((s, f) => s + f.size, 0) - half);
      expect(sameBytes(path.join(r.dir, shard), path.join(shardedDir, shard))).toBe(true);
      expect(fs.existsSync(partial)).toBe(false);
    } finally {
      server.faults = {};
    }
  });

  test('with retries, a cut connection is resumed within the same call', async () => {
    server.faults = { cut: { file: 'model.safetensors', afterBytes: 5_000_000, times: 1 } };
    try {
      const r = await pull('test-org/tiny-python', freshCache(), { retries: 2 });
      expect(sameBytes(path.join(r.dir, 'model.safetensors'), path.join(DEFAULT_MODEL_DIR, 'model.safetensors'))).toBe(true);
      expect(server.faults.cut!.times).toBe(0);
    } finally {
      server.faults = {};
    }
  });

  test('a corrupted download fails the sha256 check, names the file and is not kept', async () => {
    const cacheDir = freshCache();
    server.faults = { corrupt: { file: 'model.safetensors' } };
    try {
      const err = await pull('test-org/tiny-python', cacheDir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect((err as IntegrityError).file).toBe('model.safetensors');
      expect((err as Error).message).toMatch(/model\.safetensors is corrupted: its sha256 is [0-9a-f]{64}, the hub announced [0-9a-f]{64}/);
      const blobs = fs.readdirSync(path.join(cacheDir, 'models--test-org--tiny-python', 'blobs'));
      const sha = server.filesOf('test-org/tiny-python').find((f) => f.path === 'model.safetensors')!.sha256;
      expect(blobs.filter((b) => b.startsWith(sha))).toEqual([]);
    } finally {
      server.faults = {};
    }
  });

  test('resolve metadata (X-Linked-Etag) that disagree with the listing stop the download before any byte', async () => {
    const cacheDir = freshCache();
    server.faults = { wrongLinkedEtag: { file: 'model.safetensors' } };
    server.log.length = 0;
    try {
      const err = (await pull('test-org/tiny-python', cacheDir).catch((e: unknown) => e)) as IntegrityError;
      expect(err).toBeInstanceOf(IntegrityError);
      expect(err.file).toBe('model.safetensors');
      expect(err.message).toMatch(/metadata for model\.safetensors disagree \(listing: 11729768 bytes, [0-9a-f]{64}; resolve: 11729768 bytes, f{64}\)/);
      expect(server.log.some((l) => l.url.startsWith('/cdn/'))).toBe(false);
    } finally {
      server.faults = {};
    }
  });

  test('a gated repository: 401 without a token and 403 with a refused one explain the licence step; an accepted token downloads', async () => {
    const e401 = (await pull('google/gated-model', freshCache(), { token: undefined }).catch((e: unknown) => e)) as HubError;
    expect(e401).toBeInstanceOf(HubError);
    expect(e401.status).toBe(401);
    expect(e401.message).toContain(`${server.url}/google/gated-model`);
    expect(e401.message).toMatch(/accept the licence/);
    expect(e401.message).toMatch(/HF_TOKEN/);
    const e403 = (await pull('google/gated-model', freshCache(), { token: 'hf_notAccepted' }).catch((e: unknown) => e)) as HubError;
    expect(e403.status).toBe(403);
    expect(e403.message).toMatch(/no access to google\/gated-model \(403/);
    server.log.length = 0;
    const r = await pull('google/gated-model', freshCache(), { token: TOKEN });
    expect(sameBytes(path.join(r.dir, 'tokenizer.json'), path.join(DEFAULT_MODEL_DIR, 'tokenizer.json'))).toBe(true);
    expect(server.log.filter((l) => l.url.includes('/resolve/')).every((l) => l.authorization === `Bearer ${TOKEN}`)).toBe(true);
  });

  test('unknown repository, unknown revision, malformed id and token', async () => {
    const missing = (await pull('test-org/nope', freshCache()).catch((e: unknown) => e)) as HubError;
    expect(missing).toBeInstanceOf(HubError);
    expect(missing.status).toBe(401);
    const rev = (await pull('test-org/tiny-python', freshCache(), { revision: 'v9' }).catch((e: unknown) => e)) as HubError;
    expect(rev.status).toBe(404);
    expect(rev.message).toMatch(/test-org\/tiny-python@v9: not found/);
    await expect(pull('not a repo', freshCache())).rejects.toThrow(/not a Hugging Face repository id/);
    await expect(pull('test-org/tiny-python', freshCache(), { token: 'secret' })).rejects.toThrow(/start with "hf_"/);
  });

  test('dir: plain files in a folder, with the local-dir bookkeeping; a second pull skips them', async () => {
    const dir = path.join(tmp, 'local-dir');
    const r = await pull('test-org/tiny-python', freshCache(), { dir });
    expect(r.dir).toBe(dir);
    expect(fs.lstatSync(path.join(dir, 'model.safetensors')).isFile()).toBe(true);
    expect(sameBytes(path.join(dir, 'model.safetensors'), path.join(DEFAULT_MODEL_DIR, 'model.safetensors'))).toBe(true);
    expect(fs.readFileSync(path.join(dir, '.cache/huggingface/download/model.safetensors.metadata'), 'utf8').split('\n')[0]).toBe(r.commit);
    const again = await pull('test-org/tiny-python', freshCache(), { dir });
    expect(again.downloadedBytes).toBe(0);
  });
});

describe('resolveModelDir', () => {
  test('a folder wins; a repository id is found in the cache; not cached says to pull', async () => {
    const cacheDir = freshCache();
    expect(await resolveModelDir(DEFAULT_MODEL_DIR, { cacheDir })).toBe(DEFAULT_MODEL_DIR);
    expect(await resolveModelDir('./no/such/folder', { cacheDir })).toBe('./no/such/folder');
    const err = (await resolveModelDir('test-org/tiny-python', { cacheDir }).catch((e: unknown) => e)) as Error & { code: string };
    expect(err.code).toBe('ERR_RG_NOT_CACHED');
    expect(err.message).toContain('recurrentgemma pull test-org/tiny-python');
    // Nothing was downloaded by looking.
    expect(fs.existsSync(cacheDir)).toBe(false);
    const r = await pull('test-org/tiny-python', cacheDir);
    expect(await resolveModelDir('test-org/tiny-python', { cacheDir })).toBe(r.dir);
    expect(await resolveModelDir(`test-org/tiny-python@${r.commit}`, { cacheDir })).toBe(r.dir);
    // download: true pulls what is missing.
    const other = freshCache();
    const dir = await resolveModelDir('test-org/sharded', { cacheDir: other, download: true, endpoint: server.url, retryDelayMs: 0 });
    expect(fs.existsSync(path.join(dir, 'model.safetensors.index.json'))).toBe(true);
  });
});
