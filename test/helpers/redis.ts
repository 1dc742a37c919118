/**
 * A private redis-server for tests: a free loopback port, a temporary directory, no persistence;
 * stopped (and its directory removed) by stop(). Absent redis-server: tests skip loudly, except
 * under CI=true where they must run.
 */
import { spawn, spawnSync, type ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';

/** Waits for `p` at most `ms` (the timer is cleared, so it never keeps the process alive). */
export async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p, new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** The redis-server binary, or undefined. */
export function findRedisServer(): string | undefined {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const bin = r.stdout.trim();
  return r.status === 0 && bin.length > 0 ? bin : undefined;
}

/** A port that was free a moment ago (redis-server cannot listen on 0 and report it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface RedisInstance {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startRedis(bin: string): Promise<RedisInstance> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-redis-'));
  const port = await freePort();
  const child: ChildProcess = spawn(bin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--protected-mode', 'yes'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = await new Promise<boolean>((resolve) => {
    const deadline = Date.now() + 15_000;
    const poll = () => {
      if (out.includes('Ready to accept connections')) return resolve(true);
      if (child.exitCode !== null || Date.now() > deadline) return resolve(false);
      setTimeout(poll, 20);
    };
    poll();
  });
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await within(exited, 5000);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  if (!ready) {
    await stop();
    throw new Error(`redis-server did not start on port ${port}: ${out.slice(-500)}`);
  }
  return { url: `redis://127.0.0.1:${port}`, port, stop };
}
