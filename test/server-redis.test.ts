/**
 * Scale-out through Redis with a real redis-server and two server processes A and B (child
 * processes of `recurrentgemma serve`, sharing nothing but Redis, with no local state cache so
 * every reuse goes through Redis): turn 1 on A, turn 2 on B continues from A's state; a corrupted
 * blob is refused by its checksum and recomputed; Redis stopped mid-test never fails a request.
 * Answers are always compared with a cold computation of the same request.
 */
import Redis from 'ioredis';

import { RecurrentGemma, serve } from '../lib';
import { clientFor, health, waitFor } from './helpers/server';
import { findRedisServer, startRedis, type RedisInstance } from './helpers/redis';
import { ensureBuilt, startServe, type ServeProcess } from './helpers/serve-cli';

const MODEL = 'tiny-python';
const redisBin = findRedisServer();
const inCI = process.env.CI === 'true';

/** A replica with no local state cache, so every reuse of a state goes through Redis. */
const startReplica = (redisUrl: string) => startServe(['--state-cache-mb', '0', '--redis', redisUrl]);

const turn1 = [{ role: 'user' as const, content: 'def add(a, b):' }];
const turn2 = (answer: string) => [...turn1, { role: 'assistant' as const, content: answer }, { role: 'user' as const, content: 'def sub(a, b):' }];
const greedy = { model: MODEL, max_tokens: 12, temperature: 0 };

if (!redisBin && !inCI) {
  // eslint-disable-next-line no-console
  console.warn('\n*** SKIPPING the Redis scale-out tests: redis-server is not installed (apt-get install redis-server; .ci/run installs it). ***\n');
  test.skip('Redis scale-out (redis-server not installed)', () => {});
} else {
  describe('scale-out over Redis', () => {
    let redis: RedisInstance;
    let a: ServeProcess;
    let b: ServeProcess;

    beforeAll(async () => {
      if (!redisBin) throw new Error('CI=true but redis-server is not installed: .ci/run must install it (apt-get install -y redis-server)');
      ensureBuilt();
      redis = await startRedis(redisBin);
      [a, b] = await Promise.all([startReplica(redis.url), startReplica(redis.url)]);
    });

    afterAll(async () => {
      await Promise.all([a?.stop(), b?.stop()]);
      await redis?.stop();
    });

    test('a stalled Redis (CLIENT PAUSE) times out without failing or changing an answer', async () => {
      const model = await RecurrentGemma.load(undefined, { threads: 1 });
      const lines: string[] = [];
      const server = await serve(model, { port: 0, stateCacheBytes: 0, redis: { url: redis.url, commandTimeoutMs: 200, keyPrefix: 'stall-test:' }, log: (l) => lines.push(l) });
      const r = new Redis(redis.url);
      try {
        expect(await waitFor(async () => (await health(server.url!)).redis === 'ready')).toBe(true);
        const client = clientFor(server.url!);
        const t1 = await client.chat.completions.create({ ...greedy, messages: turn1 });
        await r.call('CLIENT', 'PAUSE', '3000', 'ALL');
        const stalled = await client.chat.completions.create({ ...greedy, messages: turn2(t1.choices[0]!.message.content!) });
        expect(stalled.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
        const coldServer = await serve(model, { port: 0, stateCacheBytes: 0, log: false });
        try {
          const cold = await clientFor(coldServer.url!).chat.completions.create({ ...greedy, messages: turn2(t1.choices[0]!.message.content!) });
          expect(stalled.choices[0]!.message.content).toBe(cold.choices[0]!.message.content);
        } finally {
          await coldServer.close();
        }
        expect(lines.join('\n')).toMatch(/redis: .*timed out/i);
      } finally {
        await r.call('CLIENT', 'UNPAUSE').catch(() => {});
        r.disconnect();
        await server.close();
        model.dispose();
      }
    });

    test('turn 1 on A, turn 2 on B: B continues from A state in Redis; a corrupted blob is refused and recomputed; Redis down never fails a request', async () => {
      const A = clientFor(a.url);
      const B = clientFor(b.url);
      const t1 = await A.chat.completions.create({ ...greedy, messages: turn1 });
      const answer = t1.choices[0]!.message.content!;

      // Turn 2 on B, which never saw turn 1.
      const warm = await B.chat.completions.create({ ...greedy, messages: turn2(answer) });
      expect(warm.usage!.prompt_tokens_details!.cached_tokens).toBe(t1.usage!.prompt_tokens + t1.usage!.completion_tokens);

      // Corrupt every stored state (one payload byte each): the checksum refuses them, B prefills.
      const r = new Redis(redis.url);
      const keys = await r.keys('recurrentgemma:state:*');
      expect(keys.length).toBeGreaterThan(0);
      for (const k of keys) {
        const blob = (await r.getBuffer(k))!;
        blob[blob.length - 5] ^= 0x40;
        await r.set(k, blob);
      }
      await r.quit();
      const corrupted = await B.chat.completions.create({ ...greedy, messages: turn2(answer) });
      expect(corrupted.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
      expect(corrupted.choices[0]!.message.content).toBe(warm.choices[0]!.message.content);
      expect(b.stderr()).toMatch(/redis: refused cached state .*checksum/i);

      // Redis goes away: both replicas still answer, identically, from prefill.
      await redis.stop();
      const downA = await A.chat.completions.create({ ...greedy, messages: turn2(answer) });
      const downB = await B.chat.completions.create({ ...greedy, messages: turn2(answer) });
      expect(downA.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
      expect(downA.choices[0]!.message.content).toBe(warm.choices[0]!.message.content);
      expect(downB.choices[0]!.message.content).toBe(warm.choices[0]!.message.content);
      const again = await A.chat.completions.create({ ...greedy, messages: turn1 });
      expect(again.choices[0]!.message.content).toBe(answer);
      expect(`${a.stderr()}${b.stderr()}`).toMatch(/redis: /);
    });
  });
}
