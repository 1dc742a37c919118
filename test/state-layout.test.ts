/**
 * lib/state/layout.ts is the TypeScript definition of the state layout; native/model allocates the
 * state on its own. The two must agree layer by layer, for every block type, or saved states and
 * the config's size limit would describe a different state than the one the engine keeps.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { RecurrentGemma } from '../lib';
import { stateBytes, stateLayout } from '../lib/state';
import { writeRandomCheckpoint, type TinyConfig } from './helpers/checkpoint-writer';

const FIXTURE = path.join(__dirname, 'fixtures', 'tiny-f32');

async function expectLayoutMatchesNative(dir: string): Promise<void> {
  const model = await RecurrentGemma.load(dir, { threads: 1 });
  try {
    const state = model.createState();
    const layout = stateLayout(model.config);
    const native = state.layers;
    expect(native.map((l) => l.kind)).toEqual(layout.map((l) => l.kind));
    native.forEach((l, i) => {
      const floats = l.kind === 'recurrent' ? l.rgLruState.length + l.conv1dState.length : l.keys.length + l.values.length;
      expect(floats).toBe(layout[i]!.floats);
    });
    expect(state.byteLength).toBe(stateBytes(model.config));
    state.dispose();
  } finally {
    model.dispose();
  }
}

describe('state layout (TS) against the native state', () => {
  test('the golden fixture', async () => {
    await expectLayoutMatchesNative(FIXTURE);
  });

  test('a config with another window, lru_width and pattern', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rg-layout-'));
    try {
      const c: TinyConfig = { vocabSize: 64, width: 32, mlpWidth: 48, lruWidth: 48, numHeads: 4, numLayers: 5, window: 7, blockPattern: ['attention', 'recurrent', 'recurrent'] };
      writeRandomCheckpoint(dir, c, 'F32', 3);
      await expectLayoutMatchesNative(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
