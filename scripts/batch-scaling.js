#!/usr/bin/env node
// Decode throughput versus batch size: B sequences advanced together by forwardBatch (one token
// each per step, weights read once per step for all of them) against one sequence at a time.
// Prints tokens/s per batch size, the ratio to batch 1, and the per-sequence state size next to a
// same-shape transformer's KV cache. Needs the built package (npm install / npm run build).
//
//   node scripts/batch-scaling.js [modelDir] [--batches 1,2,4,8,16] [--steps 32] [--repeat 3] [--prompt 16]
//                                 [--threads N] [--simd auto|scalar|avx2|avx512]
'use strict';
const { parseArgs } = require('util');

const { RecurrentGemma, stateSizeReport, formatStateSizeReport } = require('..');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    batches: { type: 'string', default: '1,2,4,8,16' },
    steps: { type: 'string', default: '32' },
    repeat: { type: 'string', default: '3' },
    prompt: { type: 'string', default: '16' },
    threads: { type: 'string' },
    simd: { type: 'string', default: 'auto' },
    contexts: { type: 'string', default: '1024,2048,4096,8192,32768' },
  },
});
const batches = values.batches.split(',').map(Number);
const steps = Number(values.steps);
const promptLength = Number(values.prompt);
const repeat = Number(values.repeat);

function argmax(a) {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}

async function measure(model, B) {
  const V = model.config.vocabSize;
  const states = Array.from({ length: B }, () => model.createState());
  // Distinct prompts so the sequences really differ.
  const prompts = states.map((_, b) => Array.from({ length: promptLength }, (_, t) => (7 + 31 * b + 13 * t) % V));
  let logits = await model.forwardBatch(states, prompts);
  const step = async () => {
    logits = await model.forwardBatch(states, logits.map((l) => [argmax(l)]));
  };
  for (let i = 0; i < 2; i++) await step(); // warm-up: page in weights, size buffers
  // Best of `repeat` timed runs: on a shared machine the minimum is the least disturbed one.
  // CPU time (all threads) is reported too: on a busy machine it is disturbed far less than wall time.
  let seconds = Infinity;
  let cpuSeconds = Infinity;
  for (let k = 0; k < repeat; k++) {
    const t0 = process.hrtime.bigint();
    const c0 = process.cpuUsage();
    for (let i = 0; i < steps; i++) await step();
    const c = process.cpuUsage(c0);
    seconds = Math.min(seconds, Number(process.hrtime.bigint() - t0) / 1e9);
    cpuSeconds = Math.min(cpuSeconds, (c.user + c.system) / 1e6);
  }
  states.forEach((s) => s.dispose());
  return { B, seconds, tokensPerSecond: (B * steps) / seconds, msPerStep: (1000 * seconds) / steps, cpuTokensPerSecond: (B * steps) / cpuSeconds };
}

async function main() {
  const dir = positionals[0];
  const model = await RecurrentGemma.load(dir, { threads: values.threads ? Number(values.threads) : undefined, simd: values.simd });
  const c = model.config;
  const info = model.runtime;
  console.log(`model: ${dir ?? '(embedded tiny-python)'} width ${c.width}, lru_width ${c.lruWidth}, ${c.numLayers} layers, vocab ${c.vocabSize}, dtype ${model.dtype}`);
  console.log(`runtime: simd ${info.simd}, ${info.threads} threads; prompt ${promptLength} tokens, best of ${repeat} runs of ${steps} decode steps per batch size`);
  console.log('');
  console.log('batch   ms/step   total tok/s   per-seq tok/s   vs batch 1   tok per CPU-s   vs batch 1');
  let base;
  let cpuBase;
  for (const B of batches) {
    const r = await measure(model, B);
    base ??= r.tokensPerSecond;
    cpuBase ??= r.cpuTokensPerSecond;
    const f = (v) => (v >= 100 ? v.toFixed(0) : v.toPrecision(3));
    console.log(`${String(B).padStart(5)}   ${f(r.msPerStep).padStart(7)}   ${f(r.tokensPerSecond).padStart(11)}   ${f(r.tokensPerSecond / B).padStart(13)}   ${(r.tokensPerSecond / base).toFixed(2).padStart(9)}x   ${f(r.cpuTokensPerSecond).padStart(13)}   ${(r.cpuTokensPerSecond / cpuBase).toFixed(2).padStart(9)}x`);
  }
  console.log('');
  console.log('memory per sequence:');
  console.log(formatStateSizeReport(stateSizeReport(c, values.contexts.split(',').map(Number))));
  model.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
