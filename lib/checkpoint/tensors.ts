import type { ModelConfig } from './config';

/** The tensor names and shapes a RecurrentGemma checkpoint must contain (docs/MODEL.md#checkpoint-tensors). */
export function expectedTensors(c: ModelConfig): Map<string, number[]> {
  const D = c.width, F = c.mlpWidth, L = c.lruWidth, H = c.numHeads, hd = c.headDim, bw = L / H;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, D]);
  m.set('model.final_norm.weight', [D]);
  c.blockTypes.forEach((kind, i) => {
    const p = `model.layers.${i}.`;
    m.set(`${p}temporal_pre_norm.weight`, [D]);
    m.set(`${p}channel_pre_norm.weight`, [D]);
    m.set(`${p}mlp_block.gate_proj.weight`, [F, D]);
    m.set(`${p}mlp_block.gate_proj.bias`, [F]);
    m.set(`${p}mlp_block.up_proj.weight`, [F, D]);
    m.set(`${p}mlp_block.up_proj.bias`, [F]);
    m.set(`${p}mlp_block.down_proj.weight`, [D, F]);
    m.set(`${p}mlp_block.down_proj.bias`, [D]);
    const t = `${p}temporal_block.`;
    if (kind === 'recurrent') {
      m.set(`${t}linear_x.weight`, [L, D]);
      m.set(`${t}linear_x.bias`, [L]);
      m.set(`${t}linear_y.weight`, [L, D]);
      m.set(`${t}linear_y.bias`, [L]);
      m.set(`${t}linear_out.weight`, [D, L]);
      m.set(`${t}linear_out.bias`, [D]);
      m.set(`${t}conv_1d.weight`, [L, 1, c.convWidth]);
      m.set(`${t}conv_1d.bias`, [L]);
      m.set(`${t}rg_lru.recurrent_param`, [L]);
      m.set(`${t}rg_lru.input_gate_weight`, [H, bw, bw]);
      m.set(`${t}rg_lru.input_gate_bias`, [H, bw]);
      m.set(`${t}rg_lru.recurrent_gate_weight`, [H, bw, bw]);
      m.set(`${t}rg_lru.recurrent_gate_bias`, [H, bw]);
    } else {
      m.set(`${t}q_proj.weight`, [H * hd, D]);
      m.set(`${t}k_proj.weight`, [hd, D]);
      m.set(`${t}v_proj.weight`, [hd, D]);
      m.set(`${t}o_proj.weight`, [D, H * hd]);
      m.set(`${t}o_proj.bias`, [D]);
    }
  });
  return m;
}

/** Tensors a checkpoint may carry that the engine does not need (tied output head). */
export const OPTIONAL_TENSORS = new Set(['lm_head.weight']);
