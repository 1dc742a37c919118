/**
 * `recurrentgemma serve` as users run it: one ready line with the URL on stdout, the API key from
 * the environment, a clean stop on SIGTERM / SIGINT that lets a running request finish and
 * releases the port, and usage errors (exit 2) for bad flags.
 */
import { spawnSync } from 'child_process';
import * as net from 'net';

import { clientFor, health, waitFor } from './helpers/server';
import { cliMain, ensureBuilt, root, startServe } from './helpers/serve-cli';

beforeAll(() => ensureBuilt());

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.createServer().once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

test('prints one ready line; SIGTERM lets the running request finish, exits 0 and frees the port', async () => {
  const serve = await startServe(['--model-id', 'demo', '--api-key', 'k1', '--shutdown-grace', '60000']);
  try {
    expect(serve.stdout().trim().split('\n')).toEqual([`recurrentgemma: serving demo at ${serve.url}/v1`]);
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = clientFor(serve.url, 'k1');
    // Long enough to be running when SIGTERM arrives (the demo model makes ~100s of tokens/s).
    const running = client.completions.create({ model: 'demo', prompt: 'import os\n', max_tokens: 600, temperature: 0 });
    expect(await waitFor(async () => (await health(serve.url)).active_sequences === 1)).toBe(true);
    const code = serve.stop('SIGTERM');
    const r = await running;
    expect(r.choices[0]!.finish_reason).toBe('length');
    expect(r.usage!.completion_tokens).toBe(600);
    expect(await code).toBe(0);
    expect(await portIsFree(Number(new URL(serve.url).port))).toBe(true);
  } finally {
    await serve.stop('SIGKILL');
  }
});

test('SIGINT stops it too; the key can come from RECURRENTGEMMA_API_KEY', async () => {
  const serve = await startServe([], { RECURRENTGEMMA_API_KEY: 'from-env' });
  try {
    await expect(clientFor(serve.url, 'wrong').models.list()).rejects.toMatchObject({ status: 401 });
    expect((await clientFor(serve.url, 'from-env').models.list()).data[0]!.id).toBe('tiny-python');
    expect(await serve.stop('SIGINT')).toBe(0);
  } finally {
    await serve.stop('SIGKILL');
  }
});

test.each([
  [['--port', '70000'], /--port/],
  [['--max-batch', '0'], /--max-batch/],
  [['--redis', 'localhost:6379'], /--redis must be a redis:\/\//],
  [['--precision', 'fastest'], /--precision/],
])('serve %j is a usage error (exit 2)', (args, message) => {
  const r = spawnSync(process.execPath, [cliMain, 'serve', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(message);
  expect(r.stdout).toBe('');
});

test('loading the library does not load the HTTP framework or the Redis client (only serving does)', () => {
  const probe = `
    const lib = require(${JSON.stringify(root)} + '/dist');
    const loaded = (name) => Object.keys(require.cache).some((k) => k.includes('/node_modules/' + name + '/'));
    const before = { fastify: loaded('fastify'), ioredis: loaded('ioredis') };
    lib.createServer(new Promise(() => {}), { log: false });
    console.log(JSON.stringify({ before, after: { fastify: loaded('fastify'), ioredis: loaded('ioredis') } }));
  `;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', timeout: 60_000 });
  expect(JSON.parse(r.stdout)).toEqual({ before: { fastify: false, ioredis: false }, after: { fastify: true, ioredis: false } });
});
