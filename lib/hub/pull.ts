/**
 * pullModel(): downloads the files of a Hugging Face model repository that a RecurrentGemma
 * checkpoint needs, with the @huggingface/hub client, into the shared Hugging Face cache (or a
 * plain folder). Interrupted downloads resume; every file is checked against the size and hash
 * the hub announces; files already there are not downloaded again.
 */
import * as fs from 'fs';
import * as path from 'path';

import { listFiles, modelInfo } from '@huggingface/hub';

import { HubError, IntegrityError, InvalidArgumentError } from '../errors';
import { fromHubError } from './access';
import { linkBlob, repoCacheFolder } from './cache';
import { downloadOne, type RemoteFile } from './download';
import { checkToken, hubCacheDir, hubEndpoint, hubToken } from './endpoint';
import { isModelFile } from './files';
import { fileMetadata } from './metadata';
import { isRepoId } from './repo-id';

export interface PullOptions {
  /** Branch, tag or commit (default `main`). */
  revision?: string;
  /** Download into this folder as plain files instead of the cache. */
  dir?: string;
  /** Cache folder (default: HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub). */
  cacheDir?: string;
  /** Hub URL (default: HF_ENDPOINT, else https://huggingface.co). */
  endpoint?: string;
  /** Access token (default: HF_TOKEN, else the token file of `huggingface-cli login`). */
  token?: string;
  /** Network failures retried per file, each resuming where the data stopped (default 3). */
  retries?: number;
  /** Wait before the n-th retry: n x this (default 1000 ms). */
  retryDelayMs?: number;
  onProgress?: (p: PullProgress) => void;
  /** A fetch to use instead of the global one (proxies, tests). */
  fetch?: typeof fetch;
}

export interface PullProgress {
  /** 'start' once the file list is known; then per file 'file' (started or found), 'data', 'done'. */
  event: 'start' | 'file' | 'data' | 'done';
  /** Repository path of the current file ('' for 'start'). */
  file: string;
  /** Whether the current file was already complete (not downloaded). */
  cached: boolean;
  /** Bytes of all files present so far, and their total. */
  bytes: number;
  totalBytes: number;
}

export interface PullFile {
  path: string;
  size: number;
  /** sha256 (LFS files) or git blob id. */
  etag: string;
  /** False when it was already in the cache / folder. */
  downloaded: boolean;
}

export interface PullResult {
  repo: string;
  revision: string;
  /** The commit the revision pointed at. */
  commit: string;
  /** The folder to load: the cache snapshot, or `options.dir`. */
  dir: string;
  files: PullFile[];
  /** Bytes transferred by this call (resumed parts not counted twice). */
  downloadedBytes: number;
}

/** Where one file goes and how its presence is recorded. */
interface Target {
  dest: string;
  incomplete: string;
  /** True when the file is already in place with this etag. */
  present(f: RemoteFile): boolean;
  /** After the file is at `dest`. */
  finish(f: RemoteFile): void;
}

function cacheTarget(storage: string, commit: string, f: RemoteFile): Target {
  const blob = path.join(storage, 'blobs', f.etag);
  const pointer = path.join(storage, 'snapshots', commit, f.path);
  return {
    dest: blob,
    incomplete: `${blob}.incomplete`,
    present: () => fs.existsSync(blob) && fs.statSync(blob).size === f.size,
    finish: () => linkBlob(blob, pointer),
  };
}

/** A plain folder, with huggingface_hub's local-dir bookkeeping (`.cache/huggingface/download/<path>.metadata`). */
function dirTarget(dir: string, commit: string, f: RemoteFile): Target {
  const dest = path.join(dir, f.path);
  const meta = path.join(dir, '.cache', 'huggingface', 'download', `${f.path}.metadata`);
  return {
    dest,
    incomplete: path.join(dir, '.cache', 'huggingface', 'download', `${f.path}.${f.etag}.incomplete`),
    present: () => {
      try {
        return fs.statSync(dest).size === f.size && fs.readFileSync(meta, 'utf8').split('\n')[1] === f.etag;
      } catch {
        return false;
      }
    },
    finish: () => fs.writeFileSync(meta, `${commit}\n${f.etag}\n${Date.now() / 1000}\n`),
  };
}

export async function pullModel(repo: string, options: PullOptions = {}): Promise<PullResult> {
  if (!isRepoId(repo)) throw new InvalidArgumentError(`${JSON.stringify(repo)} is not a Hugging Face repository id (owner/name, e.g. google/recurrentgemma-2b-it)`);
  const endpoint = (options.endpoint ?? hubEndpoint()).replace(/\/+$/, '');
  const token = options.token !== undefined ? checkToken(options.token, 'the token') : hubToken();
  const revision = options.revision ?? 'main';
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0) throw new InvalidArgumentError(`retries must be an integer ≥ 0, got ${retries}`);
  const auth = token ? { accessToken: token } : {};
  const fail = (e: unknown, what: string) => fromHubError(e, endpoint, repo, token !== undefined, what);

  let commit: string;
  let entries: RemoteFile[] = [];
  try {
    const info = await modelInfo({ name: repo, revision, hubUrl: endpoint, additionalFields: ['sha'], fetch: options.fetch, ...auth });
    commit = String((info as { sha?: unknown }).sha ?? '');
    if (!/^[0-9a-f]{40}$/.test(commit)) throw new HubError(`${repo}: the hub did not say which commit ${revision} is`, 'ERR_RG_HUB_HTTP', { repo });
    for await (const e of listFiles({ repo, revision: commit, recursive: true, hubUrl: endpoint, fetch: options.fetch, ...auth })) {
      if (e.type !== 'file' || !isModelFile(e.path)) continue;
      const etag = e.lfs?.oid ?? e.oid;
      if (!etag) throw new HubError(`${repo}: the hub lists ${e.path} without a hash`, 'ERR_RG_HUB_HTTP', { repo });
      entries.push({ path: e.path, size: e.lfs?.size ?? e.size, etag, lfs: e.lfs !== undefined });
    }
  } catch (e) {
    throw fail(e, `${repo}@${revision}`);
  }
  entries = entries.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (!entries.some((f) => f.path === 'config.json') || !entries.some((f) => f.path.endsWith('.safetensors')))
    throw new HubError(
      `${repo}@${revision} is not a Hugging Face transformers checkpoint: it has no config.json and safetensors weights (found: ${entries.map((f) => f.path).join(', ') || 'none of the model files'})`,
      'ERR_RG_HUB_NOT_A_MODEL',
      { repo },
    );

  const storage = repoCacheFolder(repo, options.cacheDir ?? hubCacheDir());
  const target = (f: RemoteFile) => (options.dir !== undefined ? dirTarget(path.resolve(options.dir), commit, f) : cacheTarget(storage, commit, f));
  const totalBytes = entries.reduce((s, f) => s + f.size, 0);
  let bytes = 0;
  let downloadedBytes = 0;
  const progress = (event: PullProgress['event'], file: string, cached: boolean) => options.onProgress?.({ event, file, cached, bytes, totalBytes });
  progress('start', '', false);
  const files: PullFile[] = [];
  for (const f of entries) {
    const t = target(f);
    const cached = t.present(f);
    progress('file', f.path, cached);
    if (!cached) {
      // The hub's resolve answer must agree with its tree listing before any byte is trusted.
      const meta = await fileMetadata({ endpoint, repo, revision: commit, path: f.path, token, fetch: options.fetch });
      if (meta.commit !== undefined && meta.commit !== commit)
        throw new IntegrityError(`${repo}: the hub resolved ${f.path} at commit ${meta.commit}, not ${commit} as asked`, f.path);
      if (meta.size !== f.size || meta.etag !== f.etag)
        throw new IntegrityError(`${repo}: the hub's metadata for ${f.path} disagree (listing: ${f.size} bytes, ${f.etag}; resolve: ${meta.size} bytes, ${meta.etag})`, f.path);
      fs.mkdirSync(path.dirname(t.incomplete), { recursive: true });
      fs.mkdirSync(path.dirname(t.dest), { recursive: true });
      const before = bytes;
      await downloadOne({
        endpoint,
        repo,
        commit,
        file: f,
        incomplete: t.incomplete,
        dest: t.dest,
        token,
        fetch: options.fetch,
        retries,
        retryDelayMs: options.retryDelayMs ?? 1000,
        onBytes: (n, resumed) => {
          bytes += n;
          if (!resumed) downloadedBytes += n;
          progress('data', f.path, false);
        },
      });
      bytes = before + f.size;
    } else {
      bytes += f.size;
    }
    t.finish(f);
    files.push({ path: f.path, size: f.size, etag: f.etag, downloaded: !cached });
    progress('done', f.path, cached);
  }
  if (options.dir === undefined && revision !== commit) {
    // Written last: a ref means a complete snapshot (what `--model owner/name` looks for).
    fs.mkdirSync(path.join(storage, 'refs', path.dirname(revision)), { recursive: true });
    fs.writeFileSync(path.join(storage, 'refs', revision), commit);
  }
  return { repo, revision, commit, dir: options.dir !== undefined ? path.resolve(options.dir) : path.join(storage, 'snapshots', commit), files, downloadedBytes };
}
