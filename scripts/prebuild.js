#!/usr/bin/env node
// `npm run prebuild`: builds this platform's N-API prebuild into prebuilds/<platform>-<arch>/ with
// prebuildify, where node-gyp-build finds it at install and load time.
//
// Why a wrapper instead of a bare `prebuildify --napi --strip` in package.json:
// - With --napi and no target, prebuildify builds against the newest Node release it knows and
//   downloads that release's headers. An N-API binary does not depend on the Node version it was
//   compiled with (binding.gyp pins NAPI_VERSION), so we build against the running Node, whose
//   headers node-gyp already has (or finds through `nodedir`): no download, works offline.
// - --tag-libc names the Linux file *.glibc.node so musl systems (Alpine) do not pick it and
//   build from source instead.
// Extra arguments are passed through, e.g. `npm run prebuild -- --arch arm64` on macOS.
const { spawnSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const bin = path.join(path.dirname(require.resolve('prebuildify/package.json')), 'bin.js');
const args = [bin, '--napi', '--strip', `--target=node@${process.versions.node}`, ...process.argv.slice(2)];
if (process.platform === 'linux') args.push('--tag-libc');

// Outside `npm run` (no npm_config_nodedir), use the running Node's own headers when its install
// ships them (Linux/macOS tarballs and distro packages do) rather than downloading them.
const env = { ...process.env };
const prefix = path.join(path.dirname(process.execPath), '..');
if (!env.npm_config_nodedir && fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;

const r = spawnSync(process.execPath, args, { cwd: root, env, stdio: 'inherit' });
if (r.error) throw r.error;
if (r.status !== 0) process.exit(r.status ?? 1);

// prebuildify moves node-gyp's output out of build/Release. Put a copy back (for this machine's
// own arch only) so that a checkout never keeps loading an older build/Release binary or, with
// none there, a prebuild that later source changes leave stale: node-gyp-build prefers build/.
const arch = /--arch[= ](\S+)/.exec(process.argv.slice(2).join(' '))?.[1] ?? process.arch;
if (arch === process.arch) {
  const dir = path.join(root, 'prebuilds', `${process.platform}-${arch}`);
  const newest = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.node'))
    .map((f) => path.join(dir, f))
    .sort((a, b) => fs.statSync(b).mtimeMs - fs.statSync(a).mtimeMs)[0];
  if (newest) fs.copyFileSync(newest, path.join(root, 'build', 'Release', 'recurrentgemma.node'));
}
