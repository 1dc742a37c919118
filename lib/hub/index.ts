/** Getting models from the Hugging Face hub (pull) and finding them in its cache (--model owner/name). */
export { pullModel, type PullOptions, type PullProgress, type PullResult, type PullFile } from './pull';
export { resolveModelDir, type ResolveModelOptions } from './resolve';
export { cachedSnapshot, repoCacheFolder } from './cache';
export { hubEndpoint, hubCacheDir, hubToken, DEFAULT_ENDPOINT } from './endpoint';
export { parseRepoRef, isRepoId, type RepoRef } from './repo-id';
export { isModelFile } from './files';
