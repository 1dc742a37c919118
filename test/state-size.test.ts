/**
 * stateSizeReport: the computed state size must equal what the native engine actually allocates,
 * and the 2B numbers must match the architecture worked out by hand from docs/MODEL.md ("Released models", "State").
 */
import * as path from 'path';

import { parseConfig, RecurrentGemma } from '../lib';
import { formatBytes, formatStateSizeReport, stateSizeReport } from '../lib/state/size';

/** The 2B config.json (docs/MODEL.md#released-models). */
const config2b = parseConfig({
  model_type: 'recurrent_gemma',
  vocab_size: 256000,
  hidden_size: 2560,
  intermediate_size: 15360,
  num_hidden_layers: 26,
  num_attention_heads: 10,
  num_key_value_heads: 1,
  lru_width: 2560,
  attention_window_size: 2048,
  conv1d_width: 4,
  _block_types: ['recurrent', 'recurrent', 'attention'],
});

describe('stateSizeReport', () => {
  test.each([
    ['tiny-f32', path.join(__dirname, 'fixtures', 'tiny-f32')],
    ['tiny-python', undefined],
  ])('state size equals the native state byteLength (%s)', async (_name, dir) => {
    const model = await RecurrentGemma.load(dir);
    try {
      expect(stateSizeReport(model.config, [1]).stateBytes).toBe(model.createState().byteLength);
    } finally {
      model.dispose();
    }
  });

  test('2B: 18 recurrent + 8 attention layers, worked out by hand', () => {
    const r = stateSizeReport(config2b, [1, 2048, 8192, 1 << 20]);
    // 18 layers x (2560 + 3 x 2560) floats x 4 B, and 8 layers x 2 x 2048 x 256 floats x 4 B.
    expect(r.recurrentBytes).toBe(18 * 4 * 2560 * 4);
    expect(r.attentionBytes).toBe(8 * 2 * 2048 * 256 * 4);
    expect(r.stateBytes).toBe(34_291_712);
    // 26 layers x (K + V) x 1 head x 256 x 2 B = 26624 B per token; MHA has 10 heads.
    expect(r.mqaBytesPerToken).toBe(26_624);
    expect(r.mhaBytesPerToken).toBe(266_240);
    expect(r.rows.map((x) => x.transformerMqaBytes)).toEqual([26_624, 2048 * 26_624, 8192 * 26_624, (1 << 20) * 26_624]);
    expect(r.rows.every((x) => x.stateBytes === r.stateBytes)).toBe(true);
    // 34291712 / 26624 = 1288 exactly: equal at 1288 tokens, larger from 1289 on.
    expect(r.mqaBreakEven).toBe(1289);
    expect(r.assumption).toMatch(/26 layers.*global attention/);
  });

  test('break-even is the first context where the MQA cache is strictly larger', () => {
    for (const c of [config2b, { ...config2b, window: 100, blockTypes: config2b.blockTypes.slice(0, 5) }]) {
      const r = stateSizeReport(c, []);
      const at = (n: number) => stateSizeReport(c, [n]).rows[0]!;
      expect(at(r.mqaBreakEven).transformerMqaBytes).toBeGreaterThan(r.stateBytes);
      expect(at(r.mqaBreakEven - 1).transformerMqaBytes).toBeLessThanOrEqual(r.stateBytes);
    }
  });

  test('element sizes are options', () => {
    const f32 = stateSizeReport(config2b, [100], { kvBytesPerElement: 4, stateBytesPerElement: 2 });
    expect(f32.mqaBytesPerToken).toBe(2 * 26_624);
    expect(f32.stateBytes).toBe(34_291_712 / 2);
    expect(() => stateSizeReport(config2b, [-1])).toThrow(RangeError);
    expect(() => stateSizeReport(config2b, [1.5])).toThrow(RangeError);
    expect(() => stateSizeReport(config2b, [0])).toThrow(RangeError);
  });

  test('formatted table lists each context and the assumption', () => {
    const text = formatStateSizeReport(stateSizeReport(config2b, [1024, 8192]));
    expect(text.split('\n')).toHaveLength(5);
    expect(text).toContain('32.7 MiB'); // 34291712 B
    expect(text).toContain('208.0 MiB'); // 8192 x 26624 B
    expect(text).toContain('assumption: transformer = same width');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
  });
});
