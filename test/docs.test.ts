/**
 * The docs are code: every TypeScript block in README.md and docs/*.md is compiled with
 * `tsc --strict` as a user's ES module that imports 'recurrentgemma' (resolved, like in an
 * application, through node_modules to this repository's package.json exports and the built
 * dist/ types), and run with node against the demo model. A block preceded by the comment
 * `<!-- needs: real checkpoint -->` is compiled only.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { ensureDistBuilt, repoRoot } from './helpers/dist';

export const NEEDS_CHECKPOINT = '<!-- needs: real checkpoint -->';

export interface CodeBlock {
  /** Markdown file, relative to the repository. */
  file: string;
  /** 1-based line of the opening fence. */
  line: number;
  code: string;
  runnable: boolean;
}

/** The ```ts / ```typescript blocks of a markdown text (also indented ones, e.g. inside lists). */
export function extractTypeScriptBlocks(markdown: string, file: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,})\s*(ts|typescript)\s*$/.exec(lines[i]!);
    const fence = /^(\s*)(`{3,})/.exec(lines[i]!);
    if (!fence) continue;
    const indent = fence[1]!.length;
    let end = i + 1;
    while (end < lines.length && !new RegExp(`^\\s*${fence[2]}\\s*$`).test(lines[end]!)) end++;
    if (end === lines.length) throw new Error(`${file}:${i + 1}: code fence is never closed`);
    if (open) {
      let before = i - 1;
      while (before >= 0 && lines[before]!.trim() === '') before--;
      const code = lines.slice(i + 1, end).map((l) => l.slice(Math.min(indent, l.length - l.trimStart().length))).join('\n');
      blocks.push({ file, line: i + 1, code, runnable: before < 0 || lines[before]!.trim() !== NEEDS_CHECKPOINT });
    }
    i = end; // skip the body: fences inside other blocks are text
  }
  return blocks;
}

const markdownFiles = ['README.md', ...fs.readdirSync(path.join(repoRoot, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const blocks = markdownFiles.flatMap((f) => extractTypeScriptBlocks(fs.readFileSync(path.join(repoRoot, f), 'utf8'), f));
const blockName = (b: CodeBlock) => `${b.file.replace(/[/.]/g, '_')}_L${b.line}`;

describe('extractTypeScriptBlocks', () => {
  test('finds ts blocks, dedents list items, honours the checkpoint marker and skips other languages', () => {
    const md = [
      '# t', '```ts', 'const a = 1;', '```', '```sh', '```ts', '```', // a ts fence inside a sh block is text
      '- item', '  ```typescript', '  const b = 2;', '    const c = 3;', '  ```',
      NEEDS_CHECKPOINT, '', '```ts', 'load();', '```',
    ].join('\n');
    expect(extractTypeScriptBlocks(md, 'x.md')).toEqual([
      { file: 'x.md', line: 2, code: 'const a = 1;', runnable: true },
      { file: 'x.md', line: 9, code: 'const b = 2;\n  const c = 3;', runnable: true },
      { file: 'x.md', line: 15, code: 'load();', runnable: false },
    ]);
    expect(() => extractTypeScriptBlocks('```ts\nx', 'y.md')).toThrow('y.md:1: code fence is never closed');
  });
});

describe('links in README.md and docs/', () => {
  test.each(markdownFiles)('%s links only to files and headings that exist', (file) => {
    const text = fs.readFileSync(path.join(repoRoot, file), 'utf8').replace(/```[\s\S]*?```/g, '');
    const broken: string[] = [];
    for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (/^[a-z]+:/i.test(target!)) continue; // http(s), mailto: not checked here
      const [rel, anchor] = target!.split('#') as [string, string | undefined];
      const resolved = rel === '' ? path.join(repoRoot, file) : path.join(repoRoot, path.dirname(file), rel);
      if (!fs.existsSync(resolved)) {
        broken.push(`${target} (no file)`);
        continue;
      }
      if (anchor && resolved.endsWith('.md')) {
        // GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens.
        const ids = [...fs.readFileSync(resolved, 'utf8').matchAll(/^#+\s+(.+)$/gm)].map((m) => m[1]!.trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-'));
        if (!ids.includes(anchor)) broken.push(`${target} (no heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('code blocks in README.md and docs/', () => {
  let work: string;
  let diagnostics = '';

  beforeAll(() => {
    ensureDistBuilt();
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-docs-'));
    // An application folder: node_modules/recurrentgemma is this repository, as after an install.
    fs.mkdirSync(path.join(work, 'node_modules'));
    fs.symlinkSync(repoRoot, path.join(work, 'node_modules', 'recurrentgemma'), 'dir');
    fs.writeFileSync(path.join(work, 'package.json'), JSON.stringify({ name: 'docs-blocks', private: true, type: 'module' }));
    for (const b of blocks) fs.writeFileSync(path.join(work, `${blockName(b)}.mts`), `${b.code}\nexport {};\n`);
    const compilerOptions = {
      target: 'ES2022', lib: ['ES2022'], module: 'nodenext', moduleResolution: 'nodenext', strict: true,
      outDir: 'out', types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules', '@types')], skipLibCheck: true,
    };
    fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions, include: ['*.mts'] }));
    const tsc = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], {
      cwd: work, encoding: 'utf8', timeout: 240_000,
    });
    if (tsc.error) throw tsc.error;
    diagnostics = `${tsc.stdout}${tsc.stderr}`;
  }, 300_000);

  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test('README.md and every docs page are read, and most blocks run', () => {
    expect(markdownFiles).toEqual(expect.arrayContaining(['README.md', 'docs/README.md', 'docs/api.md', 'docs/states-and-batching.md']));
    expect(blocks.length).toBeGreaterThanOrEqual(10);
    expect(blocks.filter((b) => b.runnable).length).toBeGreaterThan(blocks.length / 2);
  });

  test.each(blocks.map((b) => [`${b.file}:${b.line}`, b] as const))('%s compiles with tsc --strict', (_name, b) => {
    const own = diagnostics.split('\n').filter((l) => l.startsWith(`${blockName(b)}.mts(`));
    expect(own).toEqual([]);
  });

  test('tsc reports no error outside the blocks (configuration, package types)', () => {
    const names = new Set(blocks.map((b) => `${blockName(b)}.mts(`));
    const other = diagnostics.split('\n').filter((l) => /error TS\d+/.test(l) && ![...names].some((n) => l.startsWith(n)));
    expect(other).toEqual([]);
  });

  test.each(blocks.filter((b) => b.runnable).map((b) => [`${b.file}:${b.line}`, b] as const))('%s runs against the demo model', (_name, b) => {
    const js = path.join(work, 'out', `${blockName(b)}.mjs`);
    expect(fs.existsSync(js)).toBe(true);
    const r = spawnSync(process.execPath, [js], { cwd: work, encoding: 'utf8', timeout: 90_000 });
    expect({ status: r.status, signal: r.signal, stderr: r.status === 0 ? '' : r.stderr }).toEqual({ status: 0, signal: null, stderr: '' });
  });
});
