/**
 * A local stand-in for the Hugging Face hub (127.0.0.1, a free port) serving model folders in
 * the hub's URL layout, for testing the real @huggingface/hub client code and `pull`:
 *   GET  /api/models/<repo>/revision/<rev>          model info with `sha`
 *   GET  /api/models/<repo>/tree/<rev>[?recursive]  file listing (oid, size, lfs {oid, size})
 *   HEAD|GET /<repo>/resolve/<rev>/<file>           small files: 200 with ETag = git blob id;
 *        LFS files: 302 to /cdn/<sha256> with X-Linked-Etag / X-Linked-Size / X-Repo-Commit
 *   GET  /cdn/<sha256>                              the bytes (Range supported, 206)
 * Faults: gated repos (401 without a token, 403 with one not allowed), a connection cut after N
 * bytes of a file, a corrupted file (one byte flipped), a wrong X-Linked-Etag. Every request is logged.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';

export interface HubRepo {
  /** Folder whose top-level files are the repository. */
  dir: string;
  /** Commit id the `main` branch points at. */
  commit?: string;
  /** Gated: resolve needs `Authorization: Bearer <one of allowedTokens>`. */
  gated?: boolean;
  allowedTokens?: string[];
}

export interface HubFaults {
  /** Cut the connection after this many bytes of the body of `file`, the next `times` times it is served. */
  cut?: { file: string; afterBytes: number; times: number };
  /** Serve `file` with one byte changed (the listing keeps the true hash). */
  corrupt?: { file: string };
  /** Announce a wrong X-Linked-Etag for `file` in the resolve redirect (the listing keeps the true one). */
  wrongLinkedEtag?: { file: string };
}

export interface LoggedRequest {
  method: string;
  url: string;
  range?: string;
  authorization?: string;
}

interface FileEntry {
  path: string;
  size: number;
  /** git blob id. */
  oid: string;
  sha256: string;
  lfs: boolean;
  abs: string;
}

/** Files the real hub keeps in LFS for these repositories. */
const isLfs = (name: string) => name.endsWith('.safetensors') || name === 'tokenizer.model' || name === 'tokenizer.json';

function describe(dir: string): FileEntry[] {
  return fs
    .readdirSync(dir)
    .filter((n) => fs.statSync(path.join(dir, n)).isFile())
    .sort()
    .map((n) => {
      const data = fs.readFileSync(path.join(dir, n));
      const oid = createHash('sha1').update(`blob ${data.length}\0`).update(data).digest('hex');
      return { path: n, size: data.length, oid, sha256: createHash('sha256').update(data).digest('hex'), lfs: isLfs(n), abs: path.join(dir, n) };
    });
}

export class HubServer {
  readonly log: LoggedRequest[] = [];
  faults: HubFaults = {};
  private server?: http.Server;
  private readonly repos = new Map<string, { repo: HubRepo; commit: string; files: FileEntry[] }>();
  url = '';

  constructor(repos: Record<string, HubRepo>) {
    for (const [name, repo] of Object.entries(repos)) {
      const files = describe(repo.dir);
      const commit = repo.commit ?? createHash('sha1').update(name + files.map((f) => f.oid).join()).digest('hex');
      this.repos.set(name, { repo, commit, files });
    }
  }

  async start(): Promise<string> {
    this.server = http.createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  commitOf(repo: string): string {
    return this.repos.get(repo)!.commit;
  }

  filesOf(repo: string): { path: string; size: number; sha256: string; oid: string; lfs: boolean }[] {
    return this.repos.get(repo)!.files.map(({ abs: _, ...f }) => f);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    this.log.push({ method: req.method ?? 'GET', url: url.pathname + url.search, range: req.headers.range, authorization: req.headers.authorization });
    const parts = url.pathname.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
    if (parts[0] === 'api' && parts[1] === 'models') return this.api(parts.slice(2), res);
    if (parts[0] === 'cdn') return this.cdn(parts[1] ?? '', req, res);
    if (parts[2] === 'resolve') return this.resolve(`${parts[0]}/${parts[1]}`, parts[3] ?? '', parts.slice(4).join('/'), req, res);
    this.error(res, 404, 'NotFound', 'no such route');
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'X-Error-Code': code, 'X-Error-Message': message });
    res.end(JSON.stringify({ error: message }));
  }

  /** The repository at a revision, or an error answer (the hub says 401 for unknown repositories). */
  private find(name: string, rev: string, res: http.ServerResponse) {
    const r = this.repos.get(name);
    if (!r) {
      this.error(res, 401, 'RepoNotFound', 'Repository not found');
      return undefined;
    }
    if (rev !== 'main' && rev !== 'HEAD' && rev !== r.commit) {
      this.error(res, 404, 'RevisionNotFound', `Invalid rev id: ${rev}`);
      return undefined;
    }
    return r;
  }

  private api(parts: string[], res: http.ServerResponse): void {
    const name = `${parts[0]}/${parts[1]}`;
    const r = this.find(name, parts[3] ?? 'main', res);
    if (!r) return;
    if (parts[2] === 'revision') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ _id: `id-${name}`, id: name, sha: r.commit, private: false, gated: r.repo.gated ? 'manual' : false, downloads: 0, likes: 0, lastModified: '2024-04-01T00:00:00.000Z', pipeline_tag: 'text-generation' }));
    } else if (parts[2] === 'tree') {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify(
          r.files.map((f) =>
            f.lfs ? { type: 'file', oid: createHash('sha1').update(f.sha256).digest('hex'), size: 134, path: f.path, lfs: { oid: f.sha256, size: f.size, pointerSize: 134 } } : { type: 'file', oid: f.oid, size: f.size, path: f.path },
          ),
        ),
      );
    } else this.error(res, 404, 'NotFound', 'no such api route');
  }

  private resolve(name: string, rev: string, file: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    const r = this.find(name, rev, res);
    if (!r) return;
    if (r.repo.gated) {
      const auth = req.headers.authorization;
      if (!auth) return this.error(res, 401, 'GatedRepo', `Access to model ${name} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
      if (!(r.repo.allowedTokens ?? []).includes(auth.replace(/^Bearer /, '')))
        return this.error(res, 403, 'GatedRepo', `Access to model ${name} is restricted and you are not in the authorized list. Visit https://huggingface.co/${name} to ask for access.`);
    }
    const f = r.files.find((x) => x.path === file);
    if (!f) return this.error(res, 404, 'EntryNotFound', `${file} does not exist`);
    if (f.lfs) {
      res.writeHead(302, {
        // Absolute, as the hub's redirects to its CDN are (clients follow only relative ones to read metadata).
        Location: `${this.url}/cdn/${f.sha256}`,
        ETag: `"${createHash('sha1').update(f.sha256).digest('hex')}"`,
        'X-Linked-Etag': `"${this.faults.wrongLinkedEtag?.file === f.path ? 'f'.repeat(64) : f.sha256}"`,
        'X-Linked-Size': String(f.size),
        'X-Repo-Commit': r.commit,
        'Content-Length': '0',
      });
      res.end();
      return;
    }
    this.body(f, req, res, { ETag: `"${f.oid}"`, 'X-Repo-Commit': r.commit });
  }

  private cdn(sha: string, req: http.IncomingMessage, res: http.ServerResponse): void {
    for (const r of this.repos.values()) {
      const f = r.files.find((x) => x.sha256 === sha);
      if (f) return this.body(f, req, res, { ETag: `"cdn-${sha.slice(0, 16)}"` });
    }
    this.error(res, 404, 'NotFound', 'no such object');
  }

  /** Sends the file or the requested range of it (streamed from disk), applying the faults. */
  private body(f: FileEntry, req: http.IncomingMessage, res: http.ServerResponse, headers: Record<string, string>): void {
    let start = 0;
    let end = f.size - 1;
    let status = 200;
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
    if (range) {
      start = Number(range[1]);
      end = range[2] ? Math.min(Number(range[2]), end) : end;
      if (start > end) {
        res.writeHead(416, { 'Content-Range': `bytes */${f.size}` });
        res.end();
        return;
      }
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end}/${f.size}`;
    }
    res.writeHead(status, { ...headers, 'Accept-Ranges': 'bytes', 'Content-Length': String(end - start + 1), 'Content-Type': 'application/octet-stream' });
    if (req.method === 'HEAD') return void res.end();
    if (this.faults.corrupt?.file === f.path) {
      const data = Buffer.from(fs.readFileSync(f.abs));
      data[data.length >> 1] ^= 0xff;
      res.end(data.subarray(start, end + 1));
      return;
    }
    const cut = this.faults.cut;
    if (cut && cut.file === f.path && cut.times > 0 && end > start && start < cut.afterBytes) {
      // Half the body, then the connection drops (the client sees fewer bytes than Content-Length).
      cut.times--;
      const partial = fs.createReadStream(f.abs, { start, end: cut.afterBytes - 1 });
      partial.on('end', () => setTimeout(() => res.socket?.destroy(), 20));
      partial.pipe(res, { end: false });
      return;
    }
    fs.createReadStream(f.abs, { start, end }).pipe(res);
  }
}
