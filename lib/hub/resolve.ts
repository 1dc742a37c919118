/**
 * `--model` accepts a folder or a Hugging Face repository id. A folder that exists wins; an
 * `owner/name[@revision]` that is not a folder is looked up in the Hugging Face cache. Nothing is
 * downloaded unless asked (`download: true`): a model is gigabytes, fetched by `pull`.
 */
import * as fs from 'fs';

import { CheckpointError } from '../errors';
import { cachedSnapshot } from './cache';
import { hubCacheDir } from './endpoint';
import { pullModel, type PullOptions } from './pull';
import { parseRepoRef } from './repo-id';

export interface ResolveModelOptions extends Omit<PullOptions, 'revision' | 'dir'> {
  /** Download the repository when it is not in the cache (default false). */
  download?: boolean;
}

/** The folder `model` names: itself when it exists (or is not a repository id), else the cached snapshot. */
export async function resolveModelDir(model: string, options: ResolveModelOptions = {}): Promise<string> {
  if (fs.existsSync(model)) return model;
  const ref = /^[.~/\\]/.test(model) ? null : parseRepoRef(model);
  if (ref === null) return model; // a path: the loader reports that it does not exist
  const cacheDir = options.cacheDir ?? hubCacheDir();
  const cached = cachedSnapshot(ref, cacheDir);
  if (cached !== undefined) return cached;
  if (options.download) {
    const { download: _, ...pull } = options;
    return (await pullModel(ref.repo, { ...pull, cacheDir, ...(ref.revision !== undefined ? { revision: ref.revision } : {}) })).dir;
  }
  throw new CheckpointError(
    `${model} is not a folder, and the Hugging Face repository ${ref.repo}${ref.revision !== undefined ? ` at ${ref.revision}` : ''} is not in the cache (${cacheDir}): download it first with \`recurrentgemma pull ${ref.repo}${ref.revision !== undefined ? ` --revision ${ref.revision}` : ''}\``,
    'ERR_RG_NOT_CACHED',
    { file: model },
  );
}
