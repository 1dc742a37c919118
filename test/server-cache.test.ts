/** The state cache's pieces on their own: prefix keys and the bounded LRU of states. */
import { RecurrentGemma } from '../lib';
import { PrefixKeys } from '../lib/server/prefix-key';
import { LocalStateCache } from '../lib/server/state-cache';

let model: RecurrentGemma;
beforeAll(async () => {
  model = await RecurrentGemma.load(undefined, { threads: 1 });
});
afterAll(() => model?.dispose());

describe('PrefixKeys', () => {
  test('one key per exact token sequence and model; keysAt agrees with key', () => {
    const keys = new PrefixKeys(model.fingerprint);
    const ids = [2, 10, 20, 30, 40];
    const at = keys.keysAt(ids, [5, 1, 3, 3, 9]);
    expect([...at.keys()].sort()).toEqual([1, 3, 5]); // lengths past the end are skipped
    for (const [n, k] of at) expect(k).toBe(keys.key(ids.slice(0, n)));
    expect(keys.key([2, 10])).not.toBe(keys.key([2, 11]));
    expect(keys.key([2, 10])).not.toBe(keys.key([10, 2]));
    const other = new PrefixKeys({ ...model.fingerprint, weights: '0'.repeat(64) });
    expect(other.key(ids)).not.toBe(keys.key(ids)); // another model never shares a state
  });
});

describe('LocalStateCache', () => {
  test('hands out clones, evicts the least recently used past its byte bound, disposes what it drops', async () => {
    const make = async (ids: number[]) => {
      const s = model.createState();
      await model.forward(s, ids);
      return s;
    };
    const a = await make([2, 100]);
    const b = await make([2, 101]);
    const c = await make([2, 102]);
    const cache = new LocalStateCache(a.byteLength * 2);
    cache.put('a', 2, a);
    cache.put('b', 2, b);
    const got = cache.get('a')!; // a is now the most recently used
    expect(got).not.toBe(a);
    expect(got.layers).toEqual(a.layers);
    got.dispose();
    expect(a.disposed).toBe(false); // the cached state is not touched by the clone's owner
    cache.put('c', 2, c);
    expect(cache.has('b')).toBe(false);
    expect(b.disposed).toBe(true);
    expect(cache.has('a') && cache.has('c')).toBe(true);
    expect(cache.stats).toMatchObject({ entries: 2, bytes: a.byteLength * 2, evictions: 1 });
    expect(cache.lengths()).toEqual([2]);
    const big = new LocalStateCache(0);
    const d = await make([2, 103]);
    big.put('d', 2, d);
    expect(d.disposed).toBe(true);
    expect(big.stats.entries).toBe(0);
    cache.clear();
    expect(a.disposed && c.disposed).toBe(true);
  });
});
