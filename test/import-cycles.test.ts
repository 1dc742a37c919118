/**
 * lib/ has no import cycles: no module imports, directly or through others, a module that imports
 * it (type-only imports count too: they tie the files' meanings together just the same). A cycle
 * would show a layer reaching back into the one above it.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { importCycles, importGraph } from './helpers/import-graph';

const LIB = path.join(__dirname, '..', 'lib');

describe('import graph of lib/', () => {
  test('has no cycles', () => {
    const graph = importGraph(LIB);
    expect(graph.size).toBeGreaterThan(40);
    expect(importCycles(graph, LIB)).toEqual([]);
  });

  test('the checker finds a cycle when there is one', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-cycles-'));
    try {
      fs.mkdirSync(path.join(dir, 'sub'));
      fs.writeFileSync(path.join(dir, 'a.ts'), "import { b } from './sub';\nexport const a = 1;\n");
      fs.writeFileSync(path.join(dir, 'sub', 'index.ts'), "export { b } from './b';\n");
      fs.writeFileSync(path.join(dir, 'sub', 'b.ts'), "import type { a } from '../a';\nexport const b = 2;\n");
      fs.writeFileSync(path.join(dir, 'c.ts'), "import { a } from './a';\n");
      expect(importCycles(importGraph(dir), dir)).toEqual([['a.ts', path.join('sub', 'b.ts'), path.join('sub', 'index.ts')]]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
