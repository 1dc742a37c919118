/**
 * What the hub's resolve endpoint announces about one file, read the way huggingface_hub does:
 * a HEAD request whose redirect to the CDN is not followed, because the size and hash of an LFS
 * file are headers of that redirect (X-Linked-Size, X-Linked-Etag = its sha256), not of the
 * CDN's answer. Relative redirects (a renamed repository) are followed.
 */
import { HubError } from '../errors';
import { accessError } from './access';

export interface FileMetadata {
  /** The commit the revision resolved to (X-Repo-Commit). */
  commit?: string;
  /** sha256 for LFS files (X-Linked-Etag), the git blob id for the others (ETag). */
  etag: string;
  /** Bytes of the file itself (X-Linked-Size, else Content-Length). */
  size: number;
}

export interface MetadataRequest {
  endpoint: string;
  repo: string;
  revision: string;
  path: string;
  token?: string;
  fetch?: typeof fetch;
}

/** An ETag without the weak marker and quotes. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}

const MAX_RELATIVE_REDIRECTS = 5;

export function resolveUrl(endpoint: string, repo: string, revision: string, file: string): string {
  return `${endpoint}/${repo}/resolve/${encodeURIComponent(revision)}/${file.split('/').map(encodeURIComponent).join('/')}`;
}

export async function fileMetadata(r: MetadataRequest): Promise<FileMetadata> {
  const doFetch = r.fetch ?? fetch;
  let url = resolveUrl(r.endpoint, r.repo, r.revision, r.path);
  for (let hop = 0; ; hop++) {
    const res = await doFetch(url, {
      method: 'HEAD',
      redirect: 'manual',
      headers: { 'Accept-Encoding': 'identity', ...(r.token ? { Authorization: `Bearer ${r.token}` } : {}) },
    });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location && location.startsWith('/') && hop < MAX_RELATIVE_REDIRECTS) {
      url = new URL(location, url).href;
      continue;
    }
    if (res.status === 401 || res.status === 403) throw accessError(r.endpoint, r.repo, res.status, r.token !== undefined, res.headers.get('x-error-code'));
    if (res.status === 404)
      throw new HubError(`${r.repo}: ${r.path} at revision ${r.revision} not found (${res.headers.get('x-error-code') ?? 'HTTP 404'})`, 'ERR_RG_HUB_NOT_FOUND', { status: 404, repo: r.repo });
    if (!(res.ok || (res.status >= 300 && res.status < 400)))
      throw new HubError(`${r.repo}: metadata of ${r.path}: the hub answered ${res.status}`, 'ERR_RG_HUB_HTTP', { status: res.status, repo: r.repo });
    const etag = res.headers.get('x-linked-etag') ?? res.headers.get('etag');
    const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length'));
    if (!etag || !Number.isSafeInteger(size) || size < 0)
      throw new HubError(`${r.repo}: the hub's answer for ${r.path} has no ETag or size (is HF_ENDPOINT a Hugging Face hub?)`, 'ERR_RG_HUB_HTTP', { status: res.status, repo: r.repo });
    return { commit: res.headers.get('x-repo-commit') ?? undefined, etag: normalizeEtag(etag), size };
  }
}
