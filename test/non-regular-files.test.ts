/**
 * A named pipe (or any non-regular file) where a weights file should be is refused with a
 * CheckpointError instead of hanging forever in open(): a FIFO's open() waits for a writer.
 * POSIX only (mkfifo).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEFAULT_MODEL_DIR, synthesizeCheckpoint } from '../lib';

const HELPERS = path.join(__dirname, 'helpers');
const posix = process.platform !== 'win32' ? describe : describe.skip;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-fifo-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A copy of the demo model with `file` replaced by a named pipe. */
function withFifo(name: string, file: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(DEFAULT_MODEL_DIR, dir, { recursive: true });
  fs.rmSync(path.join(dir, file));
  execFileSync('mkfifo', [path.join(dir, file)]);
  return dir;
}

posix('non-regular weights files', () => {
  test('load refuses a FIFO as model.safetensors, shard, config.json or tokenizer.json with a typed error naming it', () => {
    const sharded = path.join(tmp, 'sharded');
    synthesizeCheckpoint(sharded, { preset: 'tiny', shardBytes: 1 << 16 });
    const shard = fs.readdirSync(sharded).filter((f) => f.endsWith('.safetensors')).sort()[1]!;
    fs.rmSync(path.join(sharded, shard));
    execFileSync('mkfifo', [path.join(sharded, shard)]);
    const cases: [string, string, string][] = [
      [withFifo('weights', 'model.safetensors'), 'model.safetensors', 'CheckpointError'],
      [sharded, shard, 'CheckpointError'],
      [withFifo('config', 'config.json'), 'config.json', 'CheckpointError'],
      [withFifo('tokenizer', 'tokenizer.json'), 'tokenizer.json', 'TokenizerError'],
    ];
    const r = spawnSync(process.execPath, ['-r', path.join(HELPERS, 'run-ts.js'), path.join(HELPERS, 'load-child.ts'), ...cases.map((c) => c[0])], { encoding: 'utf8', timeout: 60_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout: nothing hung
    const results = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { name: string; code: string; message: string });
    expect(results).toHaveLength(cases.length);
    cases.forEach(([dir, file, name], i) => {
      expect(results[i]!.name).toBe(name);
      expect(results[i]!.message).toContain(`${path.join(dir, file)}: `);
      expect(results[i]!.message).toMatch(/is a named pipe \(FIFO\), not a regular file/);
    });
  });

  test('the native mapping refuses a FIFO (the last check, without blocking on it)', () => {
    const fifo = path.join(tmp, 'weights.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = spawnSync(process.execPath, ['-r', path.join(HELPERS, 'run-ts.js'), path.join(HELPERS, 'native-open-child.ts'), DEFAULT_MODEL_DIR, fifo], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout: it did not hang
    expect(JSON.parse(r.stdout)).toEqual({ code: 'ERR_RG_CHECKPOINT', message: `${fifo} is not a regular file` });
  });
});
