/**
 * A named pipe (or any non-regular file) where a weights file should be is refused with a
 * CheckpointError instead of hanging forever in open(): a FIFO's open() waits for a writer.
 * POSIX only (mkfifo).
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { DEFAULT_MODEL_DIR } from '../lib';

const HELPERS = path.join(__dirname, 'helpers');
const posix = process.platform !== 'win32' ? describe : describe.skip;
let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-fifo-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

posix('non-regular weights files', () => {
  test('the native mapping refuses a FIFO (the last check, without blocking on it)', () => {
    const fifo = path.join(tmp, 'weights.fifo');
    execFileSync('mkfifo', [fifo]);
    const r = spawnSync(process.execPath, ['-r', path.join(HELPERS, 'run-ts.js'), path.join(HELPERS, 'native-open-child.ts'), DEFAULT_MODEL_DIR, fifo], { encoding: 'utf8', timeout: 30_000 });
    expect(r.signal).toBeNull(); // not killed by the timeout: it did not hang
    expect(JSON.parse(r.stdout)).toEqual({ code: 'ERR_RG_CHECKPOINT', message: `${fifo} is not a regular file` });
  });
});
