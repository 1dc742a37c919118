/**
 * Downloads one repository file through the @huggingface/hub client into `<dest>.incomplete`,
 * resuming from what an interrupted run left there (a Range request from its length), then
 * checks the size and hash the hub announced before renaming it into place.
 */
import { createHash, type Hash } from 'crypto';
import * as fs from 'fs';
import * as fsp from 'fs/promises';

import { downloadFile, HubApiError } from '@huggingface/hub';

import { HubError, IntegrityError } from '../errors';
import { fromHubError } from './access';

const WRITE_BYTES = 4 * 1024 * 1024;

/** One file of the repository, as the hub's tree listing describes it. */
export interface RemoteFile {
  /** Path inside the repository. */
  path: string;
  /** Bytes of the file (for LFS files the object's size, not the pointer's). */
  size: number;
  /** sha256 of the content for LFS files; the git blob id (sha1 of "blob <size>\0" + content) otherwise. */
  etag: string;
  lfs: boolean;
}

export interface DownloadRequest {
  endpoint: string;
  repo: string;
  /** A commit id, so every request sees the same version. */
  commit: string;
  file: RemoteFile;
  /** Partial data goes here (kept when the download fails, so the next run resumes). */
  incomplete: string;
  dest: string;
  token?: string;
  fetch?: typeof fetch;
  /** Network failures retried (each retry resumes where the data stopped). */
  retries: number;
  retryDelayMs: number;
  /** Called with each chunk's byte count, and with the bytes already there on resume (`resumed`). */
  onBytes: (n: number, resumed: boolean) => void;
}

/** Bytes already in the partial file (0 when there is none). */
function partialSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * The content hash of the partial file (sha256 for LFS files, the git blob sha1 otherwise:
 * whichever `etag` is), updated with each write, so a finished download is not read again. After
 * a failure the file is the authority: syncTo() re-reads its prefix when the two disagree.
 */
class PartialHash {
  private hash: Hash;
  private bytes = 0;

  constructor(private readonly remote: Pick<RemoteFile, 'lfs' | 'size'>) {
    this.hash = this.fresh();
  }

  private fresh(): Hash {
    const h = createHash(this.remote.lfs ? 'sha256' : 'sha1');
    if (!this.remote.lfs) h.update(`blob ${this.remote.size}\0`);
    return h;
  }

  /** Makes the hash cover exactly the first `size` bytes of `file`. */
  async syncTo(file: string, size: number): Promise<void> {
    if (this.bytes === size) return;
    this.hash = this.fresh();
    this.bytes = 0;
    if (size === 0) return;
    for await (const chunk of fs.createReadStream(file, { end: size - 1 })) this.update(chunk as Buffer);
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
    this.bytes += data.byteLength;
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

export async function downloadOne(r: DownloadRequest): Promise<void> {
  const { file } = r;
  const hash = new PartialHash(file);
  let reported = 0;
  for (let attempt = 0; ; attempt++) {
    let have = partialSize(r.incomplete);
    if (have > file.size) {
      // Not a prefix of this file (another version, or garbage): start over.
      await fsp.rm(r.incomplete, { force: true });
      have = 0;
    }
    if (have > reported) {
      r.onBytes(have - reported, true);
      reported = have;
    }
    try {
      await hash.syncTo(r.incomplete, have);
      if (have < file.size)
        await fetchRange(r, have, (data) => {
          hash.update(data);
          reported += data.byteLength;
          r.onBytes(data.byteLength, false);
        });
      break;
    } catch (e) {
      if (e instanceof HubError || e instanceof IntegrityError) throw e;
      const got = partialSize(r.incomplete);
      if (attempt >= r.retries)
        throw new HubError(
          `${r.repo}: downloading ${file.path} failed after ${got} of ${file.size} bytes (${reason(e)}); run the command again to resume`,
          'ERR_RG_HUB_NETWORK',
          { repo: r.repo },
        );
      await new Promise((resolve) => setTimeout(resolve, r.retryDelayMs * (attempt + 1)));
      reported = Math.min(reported, got);
    }
  }
  const got = partialSize(r.incomplete);
  if (got !== file.size) throw new IntegrityError(`${r.repo}: ${file.path} is ${got} bytes, the hub announced ${file.size}`, file.path);
  await hash.syncTo(r.incomplete, got);
  const digest = hash.digest();
  if (digest !== file.etag) {
    await fsp.rm(r.incomplete, { force: true });
    throw new IntegrityError(
      `${r.repo}: ${file.path} is corrupted: its ${file.lfs ? 'sha256' : 'git blob id'} is ${digest}, the hub announced ${file.etag} (the download was deleted; run the command again)`,
      file.path,
    );
  }
  await fsp.rename(r.incomplete, r.dest);
}

/** Appends bytes [start, size) of the file to the partial file, calling `onWritten` with each block written. */
async function fetchRange(r: DownloadRequest, start: number, onWritten: (data: Uint8Array) => void): Promise<void> {
  const { file } = r;
  let blob: Blob | null;
  try {
    blob = await downloadFile({ repo: r.repo, path: file.path, revision: r.commit, hubUrl: r.endpoint, fetch: r.fetch, ...(r.token ? { accessToken: r.token } : {}) });
  } catch (e) {
    if (e instanceof HubApiError && e.statusCode >= 500) throw e; // retried
    throw fromHubError(e, r.endpoint, r.repo, r.token !== undefined, `${r.repo}: ${file.path}`);
  }
  if (!blob) throw new HubError(`${r.repo}: ${file.path} is listed but the hub has no such file at ${r.commit}`, 'ERR_RG_HUB_NOT_FOUND', { status: 404, repo: r.repo });
  if (blob.size !== file.size) throw new IntegrityError(`${r.repo}: the hub serves ${file.path} with ${blob.size} bytes but lists it with ${file.size}`, file.path);
  const reader = blob.slice(start).stream().getReader();
  const out = await fsp.open(r.incomplete, 'a');
  // Network chunks are small (~16-64 KiB): gathered into large writes, one syscall per WRITE_BYTES.
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const data = Buffer.concat(pending, pendingBytes);
    pending.length = 0;
    pendingBytes = 0;
    for (let off = 0; off < data.byteLength; ) off += (await out.write(data, off)).bytesWritten; // a write may be short
    onWritten(data);
  };
  let written = start;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      written += value.byteLength;
      // A server that ignores the Range header sends the whole file again.
      if (written > file.size) throw new IntegrityError(`${r.repo}: the hub sent more than the ${file.size} bytes of ${file.path} (Range ignored?)`, file.path);
      pending.push(value);
      pendingBytes += value.byteLength;
      if (pendingBytes >= WRITE_BYTES) await flush();
    }
  } catch (e) {
    await reader.cancel().catch(() => undefined);
    throw e;
  } finally {
    // What arrived before a failure is kept: the next attempt resumes after it.
    await flush().finally(() => out.close());
  }
  if (written !== file.size) throw new Error(`connection closed early`);
}

function reason(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message}: ${cause.message}` : e.message;
  }
  return String(e);
}
