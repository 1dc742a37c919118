// Lists the addon's C++ sources for binding.gyp (CMakeLists.txt globs the same directories), so
// both build descriptions always compile the same files.
const fs = require('fs');
const path = require('path');

function walk(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fuzz' || e.name === 'tests' ? [] : walk(p);
    return e.name.endsWith('.cc') ? [p] : [];
  });
}

const root = path.join(__dirname, '..');
console.log(walk(path.join(root, 'native')).map((p) => path.relative(root, p).split(path.sep).join('/')).sort().join(' '));
