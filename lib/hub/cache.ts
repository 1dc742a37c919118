/**
 * The Hugging Face cache layout, shared with Python's huggingface_hub (a model pulled by one is
 * found by the other):
 *   <cache>/models--<owner>--<name>/blobs/<etag>                  file contents, named by hash
 *   <cache>/models--<owner>--<name>/snapshots/<commit>/<path>     symlinks to the blobs
 *   <cache>/models--<owner>--<name>/refs/<revision>               the commit a branch or tag was at
 */
import * as fs from 'fs';
import * as path from 'path';

import { getRepoFolderName } from '@huggingface/hub';

import { hubCacheDir } from './endpoint';
import type { RepoRef } from './repo-id';

const COMMIT = /^[0-9a-f]{40}$/;

export function repoCacheFolder(repo: string, cacheDir: string = hubCacheDir()): string {
  return path.join(cacheDir, getRepoFolderName({ type: 'model', name: repo }));
}

/**
 * The snapshot folder of a repository revision in the cache, when a completed `pull` left one
 * (refs are written only after every file is in place).
 */
export function cachedSnapshot(ref: RepoRef, cacheDir: string = hubCacheDir()): string | undefined {
  const storage = repoCacheFolder(ref.repo, cacheDir);
  const revision = ref.revision ?? 'main';
  let commit: string | undefined;
  if (COMMIT.test(revision)) commit = revision;
  else {
    try {
      commit = fs.readFileSync(path.join(storage, 'refs', revision), 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  const dir = path.join(storage, 'snapshots', commit);
  return fs.existsSync(path.join(dir, 'config.json')) ? dir : undefined;
}

/** Makes `link` point at `target` (relative, as huggingface_hub does); copies where symlinks are not allowed. */
export function linkBlob(target: string, link: string): void {
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(link), target), link);
  } catch {
    fs.copyFileSync(target, link);
  }
}
