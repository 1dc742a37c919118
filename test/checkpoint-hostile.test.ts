/**
 * Hostile and broken checkpoints built from the tiny-f32 fixture: every case must end in a
 * CheckpointError with its specific code naming the file (and the tensor when there is one) —
 * never a crash, a hang, or a different kind of error.
 */
import * as fs from 'fs';
import * as path from 'path';

import { openCheckpoint, RecurrentGemma } from '../lib';
import { readSafetensorsHeader } from '../lib/checkpoint';
import {
  checkpointError,
  checkpointErrorAsync,
  checkpointWith,
  entries,
  fixture,
  fixtureConfig,
  FIXTURE,
  removeTempCheckpoints,
  safetensorsBytes,
  tempCheckpoint,
  type Entry,
  type Header,
} from './helpers/hostile';

afterAll(removeTempCheckpoints);

const FIRST = 'model.embed_tokens.weight';

/** Applies `edit` to a copy of the fixture's header and returns the rebuilt file. */
function withHeader(edit: (h: Header, data: Buffer) => Buffer | void): Buffer {
  const { header, data } = fixture();
  const newData = edit(header, data) ?? data;
  return safetensorsBytes({ header, data: newData });
}

function entry(h: Header, name: string): Entry {
  return h[name] as Entry;
}

describe('safetensors framing', () => {
  const { header, data } = fixture();
  const good = safetensorsBytes({ header, data });
  const headerLen = good.readBigUInt64LE(0);
  const cases: Array<[string, string, Buffer]> = [
    ['empty file', 'ERR_RG_TRUNCATED', Buffer.alloc(0)],
    ['7-byte file', 'ERR_RG_TRUNCATED', Buffer.alloc(7)],
    ['header length past the end of the file', 'ERR_RG_TRUNCATED', safetensorsBytes({ header, data, headerLength: BigInt(good.length) })],
    ['header length 2^64 - 1', 'ERR_RG_HEADER_TOO_LARGE', safetensorsBytes({ header, data, headerLength: 2n ** 64n - 1n })],
    ['header length 1 GiB', 'ERR_RG_HEADER_TOO_LARGE', safetensorsBytes({ header, data, headerLength: 2n ** 30n })],
    ['file cut inside the header', 'ERR_RG_TRUNCATED', good.subarray(0, 8 + 100)],
    ['header not JSON', 'ERR_RG_BAD_HEADER', safetensorsBytes({ headerText: '{"a": [1, 2', data })],
    ['header a JSON array', 'ERR_RG_BAD_HEADER', safetensorsBytes({ headerText: '[{"dtype": "F32"}]', data })],
    ['header a JSON string', 'ERR_RG_BAD_HEADER', safetensorsBytes({ headerText: '"model"', data })],
    ['header null', 'ERR_RG_BAD_HEADER', safetensorsBytes({ headerText: 'null', data })],
    ['header with leading whitespace', 'ERR_RG_BAD_HEADER', safetensorsBytes({ headerText: ' ' + JSON.stringify(header), data })],
    ['header invalid UTF-8', 'ERR_RG_BAD_HEADER', safetensorsBytes({ headerText: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]), data })],
    ['header zero bytes long', 'ERR_RG_BAD_HEADER', safetensorsBytes({ headerText: '', data })],
    ['data section cut short', 'ERR_RG_TRUNCATED', good.subarray(0, good.length - 1000)],
    ['data section with trailing bytes', 'ERR_RG_BAD_OFFSETS', Buffer.concat([good, Buffer.alloc(16)])],
  ];
  test.each(cases)('%s -> %s', (_name, code, bytes) => {
    const dir = checkpointWith(bytes);
    const file = path.join(dir, 'model.safetensors');
    const e = checkpointError(() => openCheckpoint(dir));
    expect(e.code).toBe(code);
    expect(e.file).toBe(file);
    expect(e.message).toContain(file);
  });

  test('header length field is read as unsigned 64-bit (sanity of the fixture helper)', () => {
    expect(Number(headerLen)).toBe(JSON.stringify(header).length);
  });
});

describe('safetensors entries', () => {
  type Case = [string, string, (h: Header, d: Buffer) => Buffer | void, string | undefined];
  const last = () => entries(fixture().header).at(-1)![0];
  const second = () => entries(fixture().header)[1]![0];
  const cases: Case[] = [
    ['entry is a number', 'ERR_RG_BAD_HEADER', (h) => void (h[FIRST] = 3), FIRST],
    ['entry is null', 'ERR_RG_BAD_HEADER', (h) => void (h[FIRST] = null), FIRST],
    ['unknown dtype', 'ERR_RG_DTYPE', (h) => void (entry(h, FIRST).dtype = 'Q4_K'), FIRST],
    ['unsupported dtype I64', 'ERR_RG_DTYPE', (h) => void (entry(h, FIRST).dtype = 'I64'), FIRST],
    ['dtype missing', 'ERR_RG_DTYPE', (h) => void delete (entry(h, FIRST) as Partial<Entry>).dtype, FIRST],
    ['dtype F16 halves the element size', 'ERR_RG_SIZE_MISMATCH', (h) => void (entry(h, FIRST).dtype = 'F16'), FIRST],
    ['shape not a list', 'ERR_RG_BAD_HEADER', (h) => void ((entry(h, FIRST) as unknown as Record<string, unknown>).shape = '512x128'), FIRST],
    ['negative dimension', 'ERR_RG_BAD_HEADER', (h) => void (entry(h, FIRST).shape = [-512, -128]), FIRST],
    ['fractional dimension', 'ERR_RG_BAD_HEADER', (h) => void (entry(h, FIRST).shape = [511.5, 128]), FIRST],
    ['nine dimensions', 'ERR_RG_BAD_HEADER', (h) => void (entry(h, FIRST).shape = [512, 128, 1, 1, 1, 1, 1, 1, 1]), FIRST],
    ['shape product overflows 2^53', 'ERR_RG_SIZE_MISMATCH', (h) => void (entry(h, FIRST).shape = [2 ** 40, 2 ** 40]), FIRST],
    ['shape disagrees with byte span', 'ERR_RG_SIZE_MISMATCH', (h) => void (entry(h, FIRST).shape = [512, 127]), FIRST],
    ['data_offsets missing', 'ERR_RG_BAD_HEADER', (h) => void delete (entry(h, FIRST) as Partial<Entry>).data_offsets, FIRST],
    ['data_offsets of three numbers', 'ERR_RG_BAD_HEADER', (h) => void ((entry(h, FIRST) as unknown as { data_offsets: number[] }).data_offsets = [0, 4, 8]), FIRST],
    ['data_offsets as strings', 'ERR_RG_BAD_HEADER', (h) => void ((entry(h, FIRST) as unknown as { data_offsets: unknown }).data_offsets = ['0', '262144']), FIRST],
    ['data_offsets beyond 2^53', 'ERR_RG_BAD_HEADER', (h) => void (entry(h, FIRST).data_offsets = [0, 2 ** 60]), FIRST],
    ['data_offsets reversed', 'ERR_RG_BAD_OFFSETS', (h) => void (entry(h, FIRST).data_offsets = [262144, 0]), FIRST],
    ['data_offsets run past the end', 'ERR_RG_TRUNCATED', (h, d) => void (entry(h, last()).data_offsets = [d.length - 4, d.length + 4]), undefined],
    [
      'two tensors overlap',
      'ERR_RG_BAD_OFFSETS',
      (h) => {
        const e = entry(h, second());
        e.data_offsets = [e.data_offsets[0] - 4, e.data_offsets[1] - 4];
      },
      undefined,
    ],
    [
      'a hole between tensors',
      'ERR_RG_BAD_OFFSETS',
      (h, d) => {
        // Move the last tensor 8 bytes further and grow the data section to match.
        const e = entry(h, last());
        e.data_offsets = [e.data_offsets[0] + 8, e.data_offsets[1] + 8];
        return Buffer.concat([d, Buffer.alloc(8)]);
      },
      undefined,
    ],
    ['__metadata__ is a list', 'ERR_RG_BAD_HEADER', (h) => void (h.__metadata__ = ['format', 'pt']), undefined],
    ['__metadata__ is a string', 'ERR_RG_BAD_HEADER', (h) => void (h.__metadata__ = 'pt'), undefined],
    ['__metadata__ has a non-string value', 'ERR_RG_BAD_HEADER', (h) => void (h.__metadata__ = { format: 'pt', step: 3 }), undefined],
  ];
  test.each(cases)('%s -> %s', (_name, code, edit, tensor) => {
    const dir = checkpointWith(withHeader(edit));
    const e = checkpointError(() => openCheckpoint(dir));
    expect(e.code).toBe(code);
    expect(e.file).toBe(path.join(dir, 'model.safetensors'));
    if (tensor !== undefined) {
      expect(e.tensor).toBe(tensor);
      expect(e.message).toContain(tensor);
    } else if (code !== 'ERR_RG_BAD_HEADER') {
      // Offsets problems name the tensor they found, whichever it is.
      expect(typeof e.tensor).toBe('string');
      expect(e.message).toContain(e.tensor!);
    }
  });

  test('a tensor name listed twice -> ERR_RG_DUPLICATE_TENSOR', () => {
    const { header, data } = fixture();
    const text = JSON.stringify(header);
    // Append a second entry for the first tensor, pointing at the same bytes.
    const dupText = text.slice(0, -1) + `,${JSON.stringify(FIRST)}:${JSON.stringify(header[FIRST])}}`;
    const e = checkpointError(() => openCheckpoint(checkpointWith(safetensorsBytes({ headerText: dupText, data }))));
    expect(e.code).toBe('ERR_RG_DUPLICATE_TENSOR');
    expect(e.tensor).toBe(FIRST);
  });

  test('a duplicate key inside an entry -> ERR_RG_DUPLICATE_TENSOR', () => {
    const { header, data } = fixture();
    const text = JSON.stringify(header).replace('"dtype":"F32"', '"dtype":"F32","dtype":"F32"');
    const e = checkpointError(() => openCheckpoint(checkpointWith(safetensorsBytes({ headerText: text, data }))));
    expect(e.code).toBe('ERR_RG_DUPLICATE_TENSOR');
  });

  test('equal keys in different objects are not duplicates', () => {
    // Every entry has "dtype", "shape" and "data_offsets": the fixture itself must pass.
    expect(openCheckpoint(FIXTURE).tensors.length).toBe(entries(fixture().header).length);
  });

  test('model.safetensors that is a directory -> ERR_RG_FILE_NOT_FOUND', () => {
    const dir = tempCheckpoint();
    fs.mkdirSync(path.join(dir, 'model.safetensors'));
    expect(checkpointError(() => openCheckpoint(dir)).code).toBe('ERR_RG_FILE_NOT_FOUND');
  });

  test('no weights file at all -> ERR_RG_FILE_NOT_FOUND', () => {
    expect(checkpointError(() => openCheckpoint(tempCheckpoint())).code).toBe('ERR_RG_FILE_NOT_FOUND');
  });

  test('a 64 MiB header claimed by a tiny file is refused before anything is allocated', () => {
    const dir = checkpointWith(safetensorsBytes({ headerText: '{}', data: Buffer.alloc(6), headerLength: 2n ** 26n }));
    const before = process.memoryUsage().arrayBuffers;
    expect(checkpointError(() => readSafetensorsHeader(path.join(dir, 'model.safetensors'))).code).toBe('ERR_RG_TRUNCATED');
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(2 ** 24);
  });
});

describe('tensors against config.json', () => {
  test('a missing tensor is named', () => {
    const name = 'model.layers.2.temporal_block.o_proj.weight';
    const file = withHeader((h, d) => {
      const [b, e] = entry(h, name).data_offsets;
      delete h[name];
      // Close the gap so the file itself stays well-formed.
      for (const [, x] of entries(h)) if (x.data_offsets[0] >= e) x.data_offsets = [x.data_offsets[0] - (e - b), x.data_offsets[1] - (e - b)];
      return Buffer.concat([d.subarray(0, b), d.subarray(e)]);
    });
    const err = checkpointError(() => openCheckpoint(checkpointWith(file)));
    expect(err.code).toBe('ERR_RG_TENSOR_MISMATCH');
    expect(err.tensor).toBe(name);
    expect(err.message).toContain(`missing tensor ${name}`);
  });

  test('a tensor of the wrong shape is named', () => {
    const name = 'model.layers.0.mlp_block.up_proj.weight';
    const file = withHeader((h) => void (entry(h, name).shape = [128, 384]));
    const err = checkpointError(() => openCheckpoint(checkpointWith(file)));
    expect(err.code).toBe('ERR_RG_TENSOR_MISMATCH');
    expect(err.tensor).toBe(name);
    expect(err.message).toContain('expected [384, 128]');
  });

  test('an unexpected tensor is named', () => {
    const file = withHeader((h, d) => {
      h['model.layers.9.extra'] = { dtype: 'F32', shape: [2], data_offsets: [d.length, d.length + 8] };
      return Buffer.concat([d, Buffer.alloc(8)]);
    });
    const err = checkpointError(() => openCheckpoint(checkpointWith(file)));
    expect(err.code).toBe('ERR_RG_TENSOR_MISMATCH');
    expect(err.tensor).toBe('model.layers.9.extra');
  });

  test('a config that does not match the weights (hidden_size 64)', () => {
    const cfg = { ...fixtureConfig(), hidden_size: 64, head_dim: 16 };
    const dir = checkpointWith(fs.readFileSync(path.join(FIXTURE, 'model.safetensors')), cfg);
    const err = checkpointError(() => openCheckpoint(dir));
    expect(err.code).toBe('ERR_RG_TENSOR_MISMATCH');
    expect(err.tensor).toBe(FIRST);
  });

  test('load() reports the same errors as openCheckpoint()', async () => {
    const dir = checkpointWith(withHeader((h) => void (entry(h, FIRST).dtype = 'Q4_K')));
    const err = await checkpointErrorAsync(() => RecurrentGemma.load(dir));
    expect(err.code).toBe('ERR_RG_DTYPE');
    expect(err.tensor).toBe(FIRST);
  });
});

describe('sharded checkpoints', () => {
  /** Splits the fixture into two shards (first half of the tensors, rest) plus an index. */
  function sharded(editIndex?: (wm: Record<string, string>) => void): string {
    const { header, data } = fixture();
    const list = entries(header);
    const half = Math.floor(list.length / 2);
    const dir = tempCheckpoint();
    const wm: Record<string, string> = {};
    [list.slice(0, half), list.slice(half)].forEach((part, i) => {
      const name = `model-0000${i + 1}-of-00002.safetensors`;
      const h: Header = {};
      const chunks: Buffer[] = [];
      let off = 0;
      for (const [k, e] of part) {
        const bytes = data.subarray(e.data_offsets[0], e.data_offsets[1]);
        h[k] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + bytes.length] };
        chunks.push(bytes);
        off += bytes.length;
        wm[k] = name;
      }
      fs.writeFileSync(path.join(dir, name), safetensorsBytes({ header: h, data: Buffer.concat(chunks) }));
    });
    editIndex?.(wm);
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: wm }));
    return dir;
  }

  test('a well-formed split loads and computes the same logits as the single file', async () => {
    const a = await RecurrentGemma.load(FIXTURE, { threads: 1 });
    const b = await RecurrentGemma.load(sharded(), { threads: 1 });
    try {
      const tokens = [2, 17, 300, 41, 5];
      expect(await b.forward(b.createState(), tokens)).toEqual(await a.forward(a.createState(), tokens));
    } finally {
      a.dispose();
      b.dispose();
    }
  });

  test('the index names a shard that does not exist -> ERR_RG_FILE_NOT_FOUND', () => {
    const dir = sharded((wm) => void (wm[FIRST] = 'model-00003-of-00003.safetensors'));
    const err = checkpointError(() => openCheckpoint(dir));
    expect(err.code).toBe('ERR_RG_FILE_NOT_FOUND');
    expect(err.file).toBe(path.join(dir, 'model-00003-of-00003.safetensors'));
  });

  test('the index puts a tensor in the wrong shard -> ERR_RG_TENSOR_MISMATCH naming it', () => {
    const dir = sharded((wm) => void (wm[FIRST] = 'model-00002-of-00002.safetensors'));
    const err = checkpointError(() => openCheckpoint(dir));
    expect(err.code).toBe('ERR_RG_TENSOR_MISMATCH');
    expect(err.tensor).toBe(FIRST);
    expect(err.message).toContain('the index says model-00002-of-00002.safetensors');
  });

  test('the index lists a tensor no shard has -> ERR_RG_TENSOR_MISMATCH', () => {
    const dir = sharded((wm) => void (wm['model.layers.0.ghost'] = 'model-00001-of-00002.safetensors'));
    const err = checkpointError(() => openCheckpoint(dir));
    expect(err.code).toBe('ERR_RG_TENSOR_MISMATCH');
    expect(err.message).toContain('model.layers.0.ghost');
  });

  test('a tensor present in two shards -> ERR_RG_TENSOR_MISMATCH', () => {
    const dir = sharded();
    fs.copyFileSync(path.join(dir, 'model-00001-of-00002.safetensors'), path.join(dir, 'model-00002-of-00002.safetensors'));
    const err = checkpointError(() => openCheckpoint(dir));
    expect(err.code).toBe('ERR_RG_TENSOR_MISMATCH');
    expect(err.message).toContain('more than one file');
  });

  test.each([
    ['a shard path with ../', (wm: Record<string, string>) => void (wm[FIRST] = '../model.safetensors')],
    ['an absolute shard path', (wm: Record<string, string>) => void (wm[FIRST] = '/etc/passwd')],
    ['a shard name that is a number', (wm: Record<string, string>) => void ((wm as Record<string, unknown>)[FIRST] = 1)],
  ])('%s -> ERR_RG_BAD_INDEX', (_n, edit) => {
    const err = checkpointError(() => openCheckpoint(sharded(edit)));
    expect(err.code).toBe('ERR_RG_BAD_INDEX');
    expect(err.tensor).toBe(FIRST);
  });

  test.each([
    ['not JSON', '{"weight_map": {', 'ERR_RG_BAD_JSON'],
    ['no weight_map', '{"metadata": {}}', 'ERR_RG_BAD_INDEX'],
    ['weight_map a list', '{"weight_map": ["a"]}', 'ERR_RG_BAD_INDEX'],
    ['JSON null', 'null', 'ERR_RG_BAD_INDEX'],
  ])('index %s: %s', (_n, text, code) => {
    const dir = sharded();
    fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), text);
    const err = checkpointError(() => openCheckpoint(dir));
    expect(err.code).toBe(code);
    expect(err.file).toBe(path.join(dir, 'model.safetensors.index.json'));
  });
});

describe('config.json', () => {
  const base = fixtureConfig();
  const cases: Array<[string, string, unknown]> = [
    ['not JSON', 'ERR_RG_BAD_JSON', '{"hidden_size": 12'],
    ['a JSON list', 'ERR_RG_INVALID_CONFIG', '[1, 2]'],
    ['JSON null', 'ERR_RG_INVALID_CONFIG', 'null'],
    ...(['vocab_size', 'hidden_size', 'intermediate_size', 'num_hidden_layers', 'num_attention_heads', 'attention_window_size'] as const).map(
      (k): [string, string, unknown] => [`missing ${k}`, 'ERR_RG_INVALID_CONFIG', { ...base, [k]: undefined }],
    ),
    ['missing block types', 'ERR_RG_INVALID_CONFIG', { ...base, _block_types: undefined }],
    ['hidden_size a string', 'ERR_RG_INVALID_CONFIG', { ...base, hidden_size: '128' }],
    ['hidden_size fractional', 'ERR_RG_INVALID_CONFIG', { ...base, hidden_size: 128.5 }],
    ['vocab_size a boolean', 'ERR_RG_INVALID_CONFIG', { ...base, vocab_size: true }],
    ['num_hidden_layers a list', 'ERR_RG_INVALID_CONFIG', { ...base, num_hidden_layers: [6] }],
    ['hidden_size zero', 'ERR_RG_INVALID_CONFIG', { ...base, hidden_size: 0 }],
    ['vocab_size negative', 'ERR_RG_INVALID_CONFIG', { ...base, vocab_size: -512 }],
    ['attention_window_size zero', 'ERR_RG_INVALID_CONFIG', { ...base, attention_window_size: 0 }],
    ['conv1d_width 0', 'ERR_RG_INVALID_CONFIG', { ...base, conv1d_width: 0 }],
    ['heads do not divide the width', 'ERR_RG_INVALID_CONFIG', { ...base, num_attention_heads: 3, head_dim: undefined }],
    ['heads do not divide lru_width', 'ERR_RG_INVALID_CONFIG', { ...base, lru_width: 190 }],
    ['head_dim disagrees with width / heads', 'ERR_RG_INVALID_CONFIG', { ...base, head_dim: 64 }],
    ['odd intermediate_size', 'ERR_RG_INVALID_CONFIG', { ...base, intermediate_size: 767 }],
    ['vocab_size 2^53', 'ERR_RG_INVALID_CONFIG', { ...base, vocab_size: 2 ** 53 }],
    ['hidden_size 1e308', 'ERR_RG_INVALID_CONFIG', { ...base, hidden_size: 1e308 }],
    ['num_hidden_layers 1e6', 'ERR_RG_INVALID_CONFIG', { ...base, num_hidden_layers: 1e6 }],
    ['window 2^20 with 4096 attention layers (a terabyte state)', 'ERR_RG_INVALID_CONFIG', { ...base, attention_window_size: 2 ** 20, num_hidden_layers: 4096, _block_types: ['attention'] }],
    ['rms_norm_eps NaN-like string', 'ERR_RG_INVALID_CONFIG', { ...base, rms_norm_eps: 'nan' }],
    ['rope_theta negative', 'ERR_RG_INVALID_CONFIG', { ...base, rope_theta: -1 }],
    ['partial_rotary_factor 2', 'ERR_RG_INVALID_CONFIG', { ...base, partial_rotary_factor: 2 }],
    ['num_key_value_heads 2', 'ERR_RG_INVALID_CONFIG', { ...base, num_key_value_heads: 2 }],
    ['unknown block type', 'ERR_RG_INVALID_CONFIG', { ...base, _block_types: ['recurrent', 'mamba'] }],
    ['empty block types', 'ERR_RG_INVALID_CONFIG', { ...base, _block_types: [] }],
    ['another model_type', 'ERR_RG_INVALID_CONFIG', { ...base, model_type: 'llama' }],
    ['unsupported activation', 'ERR_RG_INVALID_CONFIG', { ...base, hidden_activation: 'relu' }],
    ['bos_token_id outside the vocabulary', 'ERR_RG_INVALID_CONFIG', { ...base, bos_token_id: 512 }],
    ['embeddings_scale_by_sqrt_dim a string', 'ERR_RG_INVALID_CONFIG', { ...base, embeddings_scale_by_sqrt_dim: 'yes' }],
    ['rope_parameters a list', 'ERR_RG_INVALID_CONFIG', { ...base, rope_theta: undefined, rope_parameters: [1] }],
  ];
  test.each(cases)('%s -> %s', (_name, code, config) => {
    const dir = checkpointWith(fs.readFileSync(path.join(FIXTURE, 'model.safetensors')), config);
    const err = checkpointError(() => openCheckpoint(dir));
    expect(err.code).toBe(code);
    expect(err.file).toBe(path.join(dir, 'config.json'));
  });

  test('config.json missing -> ERR_RG_FILE_NOT_FOUND', () => {
    const dir = tempCheckpoint();
    fs.rmSync(path.join(dir, 'config.json'));
    expect(checkpointError(() => openCheckpoint(dir)).code).toBe('ERR_RG_FILE_NOT_FOUND');
  });

  test('config.json a directory -> ERR_RG_FILE_NOT_FOUND', () => {
    const dir = tempCheckpoint();
    fs.rmSync(path.join(dir, 'config.json'));
    fs.mkdirSync(path.join(dir, 'config.json'));
    expect(checkpointError(() => openCheckpoint(dir)).code).toBe('ERR_RG_FILE_NOT_FOUND');
  });

  test('config.json over 1 MiB -> ERR_RG_BAD_JSON before parsing', () => {
    const dir = tempCheckpoint(JSON.stringify({ ...base, padding: 'x'.repeat(2 ** 20) }));
    expect(checkpointError(() => openCheckpoint(dir)).code).toBe('ERR_RG_BAD_JSON');
  });
});
