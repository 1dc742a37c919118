/** Hugging Face repository ids (`owner/name`, optionally `owner/name@revision` on the command line). */

/** `owner/name` as the hub allows them: letters, digits, `-`, `_`, `.`; no leading punctuation. */
const REPO_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/;

export interface RepoRef {
  /** `owner/name`. */
  repo: string;
  /** Branch, tag or commit; undefined means the default branch (`main`). */
  revision?: string;
}

export function isRepoId(s: string): boolean {
  return REPO_ID.test(s) && !s.includes('..') && !s.includes('--');
}

/** Parses `owner/name` or `owner/name@revision`; null when `s` is not one. */
export function parseRepoRef(s: string): RepoRef | null {
  const at = s.indexOf('@');
  const repo = at < 0 ? s : s.slice(0, at);
  const revision = at < 0 ? undefined : s.slice(at + 1);
  if (!isRepoId(repo)) return null;
  if (revision !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._/-]*$/.test(revision)) return null;
  return revision === undefined ? { repo } : { repo, revision };
}
