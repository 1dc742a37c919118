#!/usr/bin/env node
// Precision benchmark (README "Precision"): accuracy of `fast` against `exact` on the demo model's
// golden continuations (stored BF16 weights, and quantized at load to int8 / q4: fast vs exact on
// the same weights), and prefill speed of both on a 2B-shaped checkpoint (RecurrentGemma-2B
// widths, random BF16 weights, `--layers` layers of the 2B pattern; tokens/s is also projected to
// the 2B's 26 layers from the per-layer time). Usage (after `npm run build`):
//   node scripts/bench-precision.js [--tokens 512] [--layers 3] [--reps 3] [--threads N]
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const { RecurrentGemma, DEFAULT_MODEL_DIR } = require('../dist');

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const TOKENS = arg('tokens', 512), LAYERS = arg('layers', 3), REPS = arg('reps', 3), THREADS = arg('threads', undefined);

function logSoftmax(x, off, V) {
  let m = -Infinity;
  for (let i = 0; i < V; i++) m = Math.max(m, x[off + i]);
  let s = 0;
  for (let i = 0; i < V; i++) s += Math.exp(x[off + i] - m);
  const ls = m + Math.log(s);
  return Float64Array.from({ length: V }, (_, i) => x[off + i] - ls);
}
const argmax = (x, off, V) => {
  let b = 0;
  for (let i = 1; i < V; i++) if (x[off + i] > x[off + b]) b = i;
  return b;
};

async function greedySteps(model, c) {
  const state = model.createState();
  let logits = await model.forward(state, c.prompt_ids);
  let steps = 0;
  for (const want of c.greedy_ids) {
    if (argmax(logits, 0, logits.length) !== want) break;
    steps++;
    logits = await model.forward(state, [want]);
  }
  return steps;
}

async function accuracy(weights) {
  const golden = JSON.parse(fs.readFileSync(path.join(DEFAULT_MODEL_DIR, 'golden.json'), 'utf8'));
  const exact = await RecurrentGemma.load(DEFAULT_MODEL_DIR, { threads: THREADS, weights });
  const fast = await RecurrentGemma.load(DEFAULT_MODEL_DIR, { threads: THREADS, weights, precision: 'fast' });
  const V = exact.config.vocabSize;
  let n = 0, agree = 0, kl = 0, maxKl = 0, nllE = 0, nllF = 0, gE = 0, gF = 0, gN = 0;
  for (const c of golden.cases) {
    const ids = [...c.prompt_ids, ...c.greedy_ids];
    const a = await exact.forward(exact.createState(), ids, { allLogits: true });
    const b = await fast.forward(fast.createState(), ids, { allLogits: true });
    for (let t = c.prompt_ids.length - 1; t < ids.length - 1; t++) {
      const la = logSoftmax(a, t * V, V), lb = logSoftmax(b, t * V, V);
      let k = 0;
      for (let i = 0; i < V; i++) k += Math.exp(la[i]) * (la[i] - lb[i]);
      n++;
      kl += k;
      maxKl = Math.max(maxKl, k);
      agree += argmax(la, 0, V) === argmax(lb, 0, V) ? 1 : 0;
      nllE -= la[ids[t + 1]];
      nllF -= lb[ids[t + 1]];
    }
    gE += await greedySteps(exact, c);
    gF += await greedySteps(fast, c);
    gN += c.greedy_ids.length;
  }
  console.log(`accuracy (demo model, weights ${weights}, ${golden.cases.length} golden continuations, ${n} teacher-forced positions, ${fast.runtime.simd}):`);
  console.log(`  top-1 agreement fast vs exact: ${((100 * agree) / n).toFixed(2)} %`);
  console.log(`  KL(exact || fast): mean ${(kl / n).toExponential(2)} nats, max ${maxKl.toExponential(2)}`);
  console.log(`  perplexity of the golden continuations: exact ${Math.exp(nllE / n).toFixed(5)}, fast ${Math.exp(nllF / n).toFixed(5)}`);
  console.log(`  golden greedy steps reproduced: exact ${gE}/${gN}, fast ${gF}/${gN}`);
  exact.dispose();
  fast.dispose();
}

// A 2B-shaped BF16 checkpoint with random weights (values ~ U(-2^-5, 2^-5) with random mantissas;
// norms and biases 0), written once into tmp/.
function write2B(dir, layers) {
  const D = 2560, F = 7680, L = 2560, H = 10, hd = 256, bw = L / H, Vocab = 256000;
  const pattern = ['recurrent', 'recurrent', 'attention'];
  const specs = [['model.embed_tokens.weight', [Vocab, D]], ['model.final_norm.weight', [D]]];
  for (let i = 0; i < layers; i++) {
    const p = `model.layers.${i}.`, t = `${p}temporal_block.`;
    specs.push([`${p}temporal_pre_norm.weight`, [D]], [`${p}channel_pre_norm.weight`, [D]]);
    for (const [n, s] of [['gate_proj', [F, D]], ['up_proj', [F, D]], ['down_proj', [D, F]]]) specs.push([`${p}mlp_block.${n}.weight`, s], [`${p}mlp_block.${n}.bias`, [s[0]]]);
    if (pattern[i % 3] === 'recurrent') {
      for (const [n, s] of [['linear_x', [L, D]], ['linear_y', [L, D]], ['linear_out', [D, L]]]) specs.push([`${t}${n}.weight`, s], [`${t}${n}.bias`, [s[0]]]);
      specs.push([`${t}conv_1d.weight`, [L, 1, 4]], [`${t}conv_1d.bias`, [L]], [`${t}rg_lru.recurrent_param`, [L]]);
      specs.push([`${t}rg_lru.input_gate_weight`, [H, bw, bw]], [`${t}rg_lru.input_gate_bias`, [H, bw]]);
      specs.push([`${t}rg_lru.recurrent_gate_weight`, [H, bw, bw]], [`${t}rg_lru.recurrent_gate_bias`, [H, bw]]);
    } else {
      specs.push([`${t}q_proj.weight`, [H * hd, D]], [`${t}k_proj.weight`, [hd, D]], [`${t}v_proj.weight`, [hd, D]]);
      specs.push([`${t}o_proj.weight`, [D, H * hd]], [`${t}o_proj.bias`, [D]]);
    }
  }
  const header = {};
  let offset = 0;
  for (const [name, shape] of specs) {
    const bytes = shape.reduce((a, b) => a * b, 1) * 2;
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + json.length) % 8) json += ' ';
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(path.join(dir, 'model.safetensors'), 'w');
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  fs.writeSync(fd, head);
  fs.writeSync(fd, json);
  for (const [name, shape] of specs) {
    const n = shape.reduce((a, b) => a * b, 1);
    const vector = shape.length === 1 || name.includes('_bias') || name.endsWith('bias');
    for (let done = 0; done < n; ) {
      const m = Math.min(n - done, 1 << 22);
      const a = new Uint16Array(m);
      if (!vector) {
        crypto.randomFillSync(a);
        for (let i = 0; i < m; i++) a[i] = (a[i] & 0x807f) | ((118 + ((a[i] >> 7) & 3)) << 7);
      }
      fs.writeSync(fd, new Uint8Array(a.buffer));
      done += m;
    }
  }
  fs.closeSync(fd);
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({
    model_type: 'recurrent_gemma', architectures: ['RecurrentGemmaForCausalLM'], vocab_size: Vocab, hidden_size: D,
    intermediate_size: 2 * F, lru_width: L, num_attention_heads: H, num_key_value_heads: 1, head_dim: hd,
    num_hidden_layers: layers, attention_window_size: 2048, conv1d_width: 4, logits_soft_cap: 30, rms_norm_eps: 1e-6,
    rope_theta: 10000, partial_rotary_factor: 0.5, block_types: pattern, hidden_activation: 'gelu_pytorch_tanh',
    final_w_init_variance_scale: 2 / layers, embeddings_scale_by_sqrt_dim: true, attention_bias: false, w_init_variance_scale: 0.01,
    bos_token_id: 2, eos_token_id: 1, pad_token_id: 0, tie_word_embeddings: true,
  }));
}

async function speed() {
  const dir = path.join(__dirname, '..', 'tmp', `bench-2b-${LAYERS}l`);
  if (!fs.existsSync(path.join(dir, 'config.json'))) write2B(dir, LAYERS);
  const ids = Array.from({ length: TOKENS }, (_, i) => 3 + ((i * 7919) % 255000));
  const models = { exact: await RecurrentGemma.load(dir, { threads: THREADS }), fast: await RecurrentGemma.load(dir, { threads: THREADS, precision: 'fast' }) };
  // Wall time and process CPU time (all threads; the pool's workers sleep when idle), best of REPS:
  // on a shared machine CPU time / threads estimates the wall time on dedicated cores.
  const best = { exact: Infinity, fast: Infinity }, cpu = { exact: Infinity, fast: Infinity };
  for (let r = 0; r < REPS; r++)
    for (const p of ['exact', 'fast']) {  // interleaved: both see the same machine load
      const t0 = process.hrtime.bigint(), c0 = process.cpuUsage();
      await models[p].forward(models[p].createState(), ids);
      const c = process.cpuUsage(c0);
      best[p] = Math.min(best[p], Number(process.hrtime.bigint() - t0) / 1e9);
      cpu[p] = Math.min(cpu[p], (c.user + c.system) / 1e6);
    }
  const threads = models.fast.runtime.threads;
  console.log(`prefill ${TOKENS} tokens, 2B-shaped BF16 (${LAYERS} layers), ${models.fast.runtime.simd}, ${models.fast.runtime.threads} threads, best of ${REPS}:`);
  for (const p of ['exact', 'fast']) {
    const ded = cpu[p] / threads;
    console.log(`  ${p}: wall ${best[p].toFixed(2)} s = ${(TOKENS / best[p]).toFixed(1)} tokens/s (26 layers: ${(TOKENS / (best[p] * 26 / LAYERS)).toFixed(1)}); ` +
      `CPU ${cpu[p].toFixed(2)} s -> on ${threads} dedicated cores ${(TOKENS / ded).toFixed(1)} tokens/s (26 layers: ${(TOKENS / (ded * 26 / LAYERS)).toFixed(1)})`);
  }
  console.log(`  fast / exact speed: wall ${(best.exact / best.fast).toFixed(2)}x, CPU time ${(cpu.exact / cpu.fast).toFixed(2)}x`);
  for (const m of Object.values(models)) m.dispose();
}

(async () => {
  for (const weights of ['stored', 'int8', 'q4']) await accuracy(weights);
  await speed();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
