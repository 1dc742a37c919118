#!/usr/bin/env node
// `npm run test:pack`: the package as users get it. Builds a fresh prebuild, packs the tarball,
// checks what is in it, installs it into an empty project whose PATH has node and npm but no
// compiler, make or python, and there runs a CommonJS require, an ESM import, TypeScript
// type checks against the shipped declarations and the CLI on the embedded model. Finally a build
// from source is forced in that same environment and must fail, which shows the first install
// really needed no toolchain.
//
//   node scripts/test-pack.js [--skip-prebuild] [--from-source] [--keep]
//     --skip-prebuild  pack the prebuilds/ already present instead of running build:prebuild
//     --from-source    also install with npm_config_build_from_source=true and the normal PATH
//                      (the node-gyp fallback; a full compile, so not part of CI by default)
//     --keep           keep the temporary folder and print its path
// POSIX only (the toolchain-free PATH is made of symlinks).
'use strict';
const assert = require('assert');
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const root = path.join(__dirname, '..');
const args = new Set(process.argv.slice(2));
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const platformDir = `${process.platform}-${process.arch}`;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-pack-'));
const t0 = Date.now();

function step(name) {
  console.log(`\n[test:pack ${((Date.now() - t0) / 1000).toFixed(1)}s] ${name}`);
}

function run(cmd, argv, opts = {}) {
  const r = spawnSync(cmd, argv, { encoding: 'utf8', stdio: opts.capture ? 'pipe' : 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFailure)
    throw new Error(`${cmd} ${argv.join(' ')} exited with ${r.status}\n${r.stdout ?? ''}${r.stderr ?? ''}`);
  return r;
}

/** The npm CLI script running us (npm run sets npm_execpath), else the one next to node. */
function npmCli() {
  const candidates = [process.env.npm_execpath, path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js')];
  const found = candidates.find((p) => p && /npm-cli\.js$/.test(p) && fs.existsSync(p));
  if (!found) throw new Error('cannot find npm-cli.js');
  return found;
}

/** Environment of a user's shell: no npm_* variables inherited from `npm run`, given PATH. */
function userEnv(PATH, extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  return { ...env, PATH, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false', ...extra };
}

function which(name, PATH) {
  return PATH.split(path.delimiter).find((d) => d && fs.existsSync(path.join(d, name)));
}

// ---------------------------------------------------------------------------------------------
function prebuild() {
  if (args.has('--skip-prebuild')) return;
  step(`npm run build:prebuild (prebuilds/${platformDir})`);
  const started = Date.now();
  run(process.execPath, [npmCli(), 'run', 'build:prebuild'], { cwd: root });
  const dir = path.join(root, 'prebuilds', platformDir);
  const fresh = fs.readdirSync(dir).filter((f) => f.endsWith('.node') && fs.statSync(path.join(dir, f)).mtimeMs >= started - 2000);
  assert.ok(fresh.length > 0, `build:prebuild wrote no .node file into ${dir}`);
}

function pack() {
  step('npm pack');
  const r = run(process.execPath, [npmCli(), 'pack', '--json', '--pack-destination', work], { cwd: root, capture: true });
  // Lifecycle scripts (prepare) print before the JSON report.
  const report = JSON.parse(r.stdout.slice(r.stdout.indexOf('[\n')))[0];
  const tarball = path.join(work, report.filename);
  const files = new Map(report.files.map((f) => [f.path, f.size]));
  console.log(`${report.filename}: ${files.size} files, ${(report.size / 1e6).toFixed(1)} MB packed, ${(report.unpackedSize / 1e6).toFixed(1)} MB unpacked`);
  checkContents(files);
  return { tarball, files };
}

function checkContents(files) {
  const has = (p) => files.has(p);
  const required = [
    'package.json', 'README.md', 'LICENSE',
    'dist/index.js', 'dist/index.d.ts', 'dist/index.mjs', 'dist/index.d.mts',
    'binding.gyp', 'scripts/native-sources.js',
    'models/tiny-python/config.json', 'models/tiny-python/model.safetensors',
    'models/tiny-python/tokenizer.json', 'models/tiny-python/tokenizer_config.json',
    ...fs.readdirSync(path.join(root, 'examples')).filter((f) => f.endsWith('.ts')).map((f) => `examples/${f}`),
  ];
  for (const p of required) assert.ok(has(p), `tarball misses ${p}`);
  assert.ok([...files.keys()].some((p) => p.startsWith(`prebuilds/${platformDir}/`) && p.endsWith('.node')), `tarball has no prebuild for ${platformDir}`);
  // The from-source fallback compiles exactly what binding.gyp lists, plus the headers next to it.
  const sources = run(process.execPath, [path.join(root, 'scripts', 'native-sources.js')], { cwd: root, capture: true }).stdout.trim().split(/\s+/);
  for (const src of sources) assert.ok(has(src), `tarball misses native source ${src} (the from-source build needs it)`);
  const walk = (d) => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? (e.name === 'fuzz' ? [] : walk(path.join(d, e.name))) : [path.join(d, e.name)]));
  for (const f of walk(path.join(root, 'native')).filter((f) => /\.(h|hpp|inc)$/.test(f))) {
    const rel = path.relative(root, f).split(path.sep).join('/');
    assert.ok(has(rel), `tarball misses native header ${rel}`);
  }
  const bin = typeof pkg.bin === 'string' ? pkg.bin : Object.values(pkg.bin ?? {})[0];
  if (bin && fs.existsSync(path.join(root, bin))) assert.ok(has(bin.replace(/^\.\//, '')), `tarball misses the CLI ${bin}`);
  // Nothing of the development tree: tests, TypeScript sources, build trees, source maps.
  const forbidden = /^(test|lib|build|node_modules|bench|\.ci|\.github|coverage)\/|\.map$|\.tgz$|(?<!\.d)\.m?ts$/;
  // The examples are the one TypeScript source that ships: users read and run them.
  const extra = [...files.keys()].filter((p) => (forbidden.test(p) && !/^examples\/[^/]+\.ts$/.test(p)) || (p.startsWith('scripts/') && p !== 'scripts/native-sources.js'));
  assert.deepStrictEqual(extra, [], 'tarball contains development files');
  // Everything but the demo model and the binaries is code and text: it stays small.
  let small = 0;
  for (const [p, size] of files) if (!p.startsWith('models/') && !p.startsWith('prebuilds/')) small += size;
  assert.ok(small < 1.5e6, `code and text in the tarball take ${small} bytes (expected < 1.5 MB)`);
}

/**
 * A bin folder holding only node, npm, npx, sh (npm runs scripts with it) and python3 (so that a
 * build from source gets past node-gyp's configure step and fails for want of make and a C++
 * compiler, which is what users without a toolchain lack).
 */
function toolchainFreePath() {
  const bin = path.join(work, 'bin');
  fs.mkdirSync(bin);
  const cli = npmCli();
  fs.symlinkSync(process.execPath, path.join(bin, 'node'));
  fs.symlinkSync(cli, path.join(bin, 'npm'));
  fs.symlinkSync(path.join(path.dirname(cli), 'npx-cli.js'), path.join(bin, 'npx'));
  fs.symlinkSync('/bin/sh', path.join(bin, 'sh'));
  // The interpreter itself, not a version-manager shim that needs more of the PATH.
  const python = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  if (python.status === 0 && python.stdout.trim()) fs.symlinkSync(python.stdout.trim(), path.join(bin, 'python3'));
  for (const tool of ['cc', 'gcc', 'c++', 'g++', 'clang', 'clang++', 'make', 'gmake', 'cmake', 'ninja'])
    assert.ok(!which(tool, bin), `${tool} is reachable`);
  return bin;
}

function makeProject(name) {
  const dir = path.join(work, name);
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `rg-${name}`, version: '1.0.0', private: true }, null, 2));
  return dir;
}

function install(dir, tarball, env) {
  step(`npm install ${path.basename(tarball)} in ${path.relative(work, dir)} (PATH=${env.PATH})`);
  return run('npm', ['install', tarball], { cwd: dir, env });
}

// ---------------------------------------------------------------------------------------------
// Consumer code. Both module systems decode greedily from the embedded demo model and compare
// with the official implementation's tokens in its golden.json (up to the first near-tie).
const decodeCheck = `
async function decodeCheck(rg, fs, path) {
  const golden = JSON.parse(fs.readFileSync(path.join(rg.DEFAULT_MODEL_DIR, 'golden.json'), 'utf8'));
  const c = golden.cases[0];
  let steps = c.top2_margins.findIndex((m) => m < 0.005);
  steps = Math.min(steps < 0 ? c.greedy_ids.length : steps, 12);
  const model = await rg.RecurrentGemma.load();
  const state = model.createState();
  let logits = await model.forward(state, c.prompt_ids);
  const got = [];
  for (let k = 0; k < steps; k++) {
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    got.push(best);
    logits = await model.forward(state, [best]);
  }
  const want = c.greedy_ids.slice(0, steps);
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error('greedy ids ' + got + ' != golden ' + want);
  const runtime = model.runtime;
  model.dispose();
  return { steps, simd: runtime.simd };
}`;

const cjsCheck = `'use strict';
const fs = require('fs');
const path = require('path');
const rg = require('recurrentgemma');
${decodeCheck}
decodeCheck(rg, fs, path).then((r) => console.log('cjs ok', JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });
`;

const esmCheck = `import fs from 'fs';
import path from 'path';
import { createRequire } from 'module';
import * as ns from 'recurrentgemma';
import rgDefault, { RecurrentGemma, CheckpointError } from 'recurrentgemma';
${decodeCheck}
const cjs = createRequire(import.meta.url)('recurrentgemma');
// One implementation behind both entry points: same classes, same names.
const names = Object.keys(ns).filter((k) => k !== 'default').sort();
if (JSON.stringify(names) !== JSON.stringify(Object.keys(cjs).sort())) throw new Error('ESM exports ' + names + ' != CJS exports ' + Object.keys(cjs).sort());
for (const k of names) if (ns[k] !== cjs[k]) throw new Error('ESM export ' + k + ' is not the CommonJS one');
if (rgDefault !== cjs || RecurrentGemma !== cjs.RecurrentGemma) throw new Error('default export is not the CommonJS module');
const missing = await RecurrentGemma.load(path.join(process.cwd(), 'no-such-model')).catch((e) => e);
if (!(missing instanceof cjs.CheckpointError) || !(missing instanceof CheckpointError)) throw new Error('load of a missing folder gave ' + missing);
console.log('esm ok', JSON.stringify(await decodeCheck(ns, fs, path)));
`;

// Type checks: real API use must compile, and misuse must not (the @ts-expect-error lines fail the
// check if the package's types were missing or \`any\`).
const tsApi = (imp) => `${imp}
async function main(): Promise<number> {
  const options: LoadOptions = { threads: 1, simd: 'auto' };
  const model: RecurrentGemma = await RecurrentGemma.load(DEFAULT_MODEL_DIR, options);
  const config: ModelConfig = model.config;
  const state: ModelState = model.createState();
  const logits: Float32Array = await model.forward(state, [2, 323, 297], { allLogits: true });
  const batch: Float32Array[] = await model.forwardBatch([state, state.clone()], [[7], new Int32Array([8])]);
  const levels: readonly string[] = kernels.availableSimdLevels();
  const err: RecurrentGemmaError = new InvalidArgumentError('bad');
  const code: string = err.code;
  // @ts-expect-error simd is a closed set of levels
  await RecurrentGemma.load(DEFAULT_MODEL_DIR, { simd: 'sse9' });
  // @ts-expect-error forward takes the state first
  await model.forward([2, 323]);
  // @ts-expect-error position is a number
  const position: string = state.position;
  return config.vocabSize + logits.length + batch.length + levels.length + code.length + position.length;
}
export { main };
`;
const namedImports = 'RecurrentGemma, ModelState, DEFAULT_MODEL_DIR, kernels, InvalidArgumentError, RecurrentGemmaError, type LoadOptions, type ModelConfig';
const typeFiles = {
  'esm.mts': tsApi(`import { ${namedImports} } from 'recurrentgemma';\nimport rg from 'recurrentgemma';\nconst sameClass: typeof RecurrentGemma = rg.RecurrentGemma;\nvoid sameClass;`),
  'cjs.cts': tsApi(`import rg = require('recurrentgemma');\nimport { ${namedImports} } from 'recurrentgemma';\nconst sameClass: typeof RecurrentGemma = rg.RecurrentGemma;\nvoid sameClass;`),
  'legacy.ts': tsApi(`import { ${namedImports} } from 'recurrentgemma';`),
};
// Like any Node application the consumer has @types/node (the declarations use Node globals such
// as AbortSignal); it comes from this repository so the consumer project installs only the tarball.
// The nodenext run also checks every shipped declaration file (skipLibCheck off); the other two
// only check how the consumer's code sees the API, which is quicker.
const tsconfigs = {
  'tsconfig.nodenext.json': { module: 'nodenext', moduleResolution: 'nodenext', files: ['esm.mts', 'cjs.cts'], expect: ['dist/index.d.mts', 'dist/index.d.ts'], skipLibCheck: false },
  'tsconfig.bundler.json': { module: 'esnext', moduleResolution: 'bundler', files: ['legacy.ts'], expect: ['dist/index.d.mts'], skipLibCheck: true },
  'tsconfig.node10.json': { module: 'commonjs', moduleResolution: 'node10', files: ['legacy.ts'], expect: ['dist/index.d.ts'], skipLibCheck: true },
};

function consumerChecks(dir, env) {
  const pkgDir = path.join(dir, 'node_modules', 'recurrentgemma');
  step('CommonJS require');
  fs.writeFileSync(path.join(dir, 'check.cjs'), cjsCheck);
  run('node', ['check.cjs'], { cwd: dir, env });
  step('ESM import');
  fs.writeFileSync(path.join(dir, 'check.mjs'), esmCheck);
  run('node', ['check.mjs'], { cwd: dir, env });

  step('TypeScript: tsc --noEmit against the shipped declarations (nodenext, bundler, node10)');
  for (const [name, text] of Object.entries(typeFiles)) fs.writeFileSync(path.join(dir, name), text);
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  for (const [name, c] of Object.entries(tsconfigs)) {
    const compilerOptions = {
      target: 'ES2022', lib: ['ES2022'], module: c.module, moduleResolution: c.moduleResolution, strict: true, noEmit: true,
      types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')], skipLibCheck: c.skipLibCheck,
    };
    fs.writeFileSync(path.join(dir, name), JSON.stringify({ compilerOptions, files: c.files }, null, 2));
    const r = run('node', [tsc, '-p', name, '--listFiles'], { cwd: dir, env, capture: true, allowFailure: true });
    if (r.status !== 0) throw new Error(`tsc -p ${name} failed:\n${r.stdout}${r.stderr}`);
    for (const d of c.expect)
      assert.ok(r.stdout.split('\n').some((l) => l.endsWith(`node_modules/recurrentgemma/${d}`)), `${name}: tsc did not resolve ${d}`);
    console.log(`${name}: ok (${c.expect.join(', ')})`);
  }

  // A shipped example as a user runs it: compiled against the installed package's types (it
  // imports 'recurrentgemma', resolved from node_modules) and run with node on the embedded model.
  step('examples/generate.ts from the installed package: tsc, then node');
  const exampleConfig = {
    compilerOptions: {
      target: 'ES2022', lib: ['ES2022'], module: 'commonjs', moduleResolution: 'node10', strict: true, outDir: 'examples-out',
      rootDir: 'node_modules/recurrentgemma/examples', types: ['node'], typeRoots: [path.join(root, 'node_modules', '@types')], skipLibCheck: true,
    },
    files: ['node_modules/recurrentgemma/examples/generate.ts'],
  };
  fs.writeFileSync(path.join(dir, 'tsconfig.examples.json'), JSON.stringify(exampleConfig, null, 2));
  const built = run('node', [tsc, '-p', 'tsconfig.examples.json'], { cwd: dir, env, capture: true, allowFailure: true });
  if (built.status !== 0) throw new Error(`tsc of the shipped example failed:\n${built.stdout}${built.stderr}`);
  const example = run('node', [path.join('examples-out', 'generate.js')], { cwd: dir, env, capture: true });
  assert.ok(example.stdout.trim().length > 0, 'the shipped example printed nothing');
  assert.match(example.stderr, /\[(stop|length)\] \d+ prompt tokens, \d+ generated/, `the shipped example reported ${JSON.stringify(example.stderr)}`);
  console.log(`examples/generate.ts: ${JSON.stringify(example.stdout.slice(0, 60))}… ${example.stderr.trim()}`);

  const cli = path.join(pkgDir, 'dist', 'cli', 'main.js');
  if (fs.existsSync(cli)) {
    // Greedy text up to the first near-tie of the reference must be the start of its greedy_text.
    step('npx recurrentgemma generate on the embedded model');
    const c = JSON.parse(fs.readFileSync(path.join(pkgDir, 'models', 'tiny-python', 'golden.json'), 'utf8')).cases[0];
    let steps = c.top2_margins.findIndex((m) => m < 0.005);
    steps = Math.min(steps < 0 ? c.greedy_ids.length : steps, 12);
    const r = run('npx', ['--no-install', 'recurrentgemma', 'generate', c.prompt, '-t', '0', '-n', String(steps)], { cwd: dir, env, capture: true });
    console.log(JSON.stringify(r.stdout));
    assert.ok(r.stdout.length >= 8, `recurrentgemma generate printed too little: ${JSON.stringify(r.stdout)}`);
    assert.ok(c.greedy_text.startsWith(r.stdout), `generate printed ${JSON.stringify(r.stdout)}, not the start of the reference ${JSON.stringify(c.greedy_text)}`);
  } else {
    step('CLI: dist/cli/main.js is not in the package yet, skipping `npx recurrentgemma generate`');
  }
}

// ---------------------------------------------------------------------------------------------
function main() {
  if (process.platform === 'win32') throw new Error('test:pack builds a toolchain-free PATH from symlinks: POSIX only');
  prebuild();
  const { tarball } = pack();
  const bin = toolchainFreePath();

  const app = makeProject('app');
  const env = userEnv(bin);
  install(app, tarball, env);
  const installed = path.join(app, 'node_modules', 'recurrentgemma');
  assert.ok(!fs.existsSync(path.join(installed, 'build')), 'install compiled the addon instead of using the prebuild');
  const loaded = run('node', ['-p', `require('node-gyp-build').path(${JSON.stringify(installed)})`], { cwd: app, env, capture: true }).stdout.trim();
  assert.ok(loaded.startsWith(path.join(installed, 'prebuilds', platformDir) + path.sep), `addon resolves to ${loaded}, not the prebuild`);
  console.log(`addon: ${path.relative(app, loaded)}`);
  consumerChecks(app, env);

  step('negative control: a build from source in the same environment must fail');
  const noTools = makeProject('no-toolchain');
  const r = run('npm', ['install', tarball], { cwd: noTools, env: userEnv(bin, { npm_config_build_from_source: 'true' }), capture: true, allowFailure: true });
  const output = `${r.stdout}${r.stderr}`;
  assert.notStrictEqual(r.status, 0, 'npm install --build-from-source succeeded without a toolchain: the check above proves nothing');
  assert.match(output, /gyp ERR!/, `the from-source install failed before node-gyp ran:\n${output}`);
  const reason = output.split('\n').find((l) => /not found: |could not find|ENOENT/i.test(l)) ?? '';
  console.log(`failed as expected (exit ${r.status}): ${reason.replace(/^npm error /, '').trim()}`);

  if (args.has('--from-source')) {
    const src = makeProject('from-source');
    const fullEnv = userEnv(process.env.PATH, { npm_config_build_from_source: 'true' });
    install(src, tarball, fullEnv);
    const built = path.join(src, 'node_modules', 'recurrentgemma', 'build', 'Release', 'recurrentgemma.node');
    assert.ok(fs.existsSync(built), `from-source install did not produce ${built}`);
    step('CommonJS require of the from-source build');
    fs.writeFileSync(path.join(src, 'check.cjs'), cjsCheck);
    run('node', ['check.cjs'], { cwd: src, env: fullEnv });
  }
  step('all package checks passed');
}

try {
  main();
} finally {
  if (args.has('--keep')) console.log(`kept ${work}`);
  else fs.rmSync(work, { recursive: true, force: true });
}
