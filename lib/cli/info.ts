/** `recurrentgemma info`: what a checkpoint is and what running it costs. */
import type { Command } from 'commander';

import { DEFAULT_MODEL_DIR, type RecurrentGemma } from '../model';
import { loadModel } from './load';
import { addModelOptions, toLoadOptions } from './options';
import { writeOut } from './io';

interface InfoValues {
  model?: string;
  download?: boolean;
  threads?: number;
  simd?: 'auto' | 'scalar' | 'avx2' | 'avx512';
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program.command('info').description('print the model config, parameter count, dtype, state size and runtime (SIMD level, threads)');
  addModelOptions(cmd).option('--json', 'print one JSON object instead of a table').action(run);
}

/** Everything `info` reports, as plain data. */
export function describe(model: RecurrentGemma): Record<string, unknown> {
  const state = model.createState();
  const stateBytes = state.byteLength;
  state.dispose();
  const c = model.config;
  const runtime = model.runtime;
  return {
    model: model.dir,
    embeddedDemoModel: model.dir === DEFAULT_MODEL_DIR,
    config: c,
    parameters: model.parameterCount,
    dtype: model.dtype,
    stateBytes,
    tokenizer: model.hasTokenizer ? { vocabSize: model.tokenizer.vocabSize, chatTemplate: model.tokenizer.chatTemplate !== undefined } : null,
    runtime,
  };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

async function run(values: InfoValues): Promise<void> {
  const model = await loadModel(values.model, toLoadOptions(values), values.download === true);
  try {
    const d = describe(model);
    if (values.json) {
      await writeOut(`${JSON.stringify(d, null, 2)}\n`);
      return;
    }
    const c = model.config;
    const pattern = c.blockTypes.map((b) => (b === 'attention' ? 'A' : 'R')).join('');
    const t = model.hasTokenizer ? model.tokenizer : undefined;
    const rows: [string, string][] = [
      ['model', `${model.dir}${d.embeddedDemoModel ? ' (embedded tiny-python demo model, not Google weights)' : ''}`],
      ['architecture', `width ${c.width}, lru_width ${c.lruWidth}, mlp ${c.mlpWidth}, heads ${c.numHeads} x ${c.headDim}, window ${c.window}, conv ${c.convWidth}`],
      ['layers', `${c.numLayers} (${pattern}: R = recurrent, A = local attention)`],
      ['vocabulary', `${c.vocabSize} (bos ${c.bosTokenId}, eos ${c.eosTokenId}, pad ${c.padTokenId})`],
      ['parameters', `${model.parameterCount.toLocaleString('en-US')} (${(model.parameterCount / 1e6).toFixed(2)}M)`],
      ['dtype', model.dtype],
      ['state', `${(d.stateBytes as number).toLocaleString('en-US')} bytes per sequence (${mib(d.stateBytes as number)}, fixed: does not grow with length)`],
      ['tokenizer', t ? `tokenizer.json, ${t.vocabSize} ids, chat template: ${t.chatTemplate !== undefined ? 'yes' : 'no (Gemma format)'}` : 'none (token ids only)'],
      ['runtime', `simd ${model.runtime.simd}, ${model.runtime.threads} thread${model.runtime.threads === 1 ? '' : 's'}, ${mib(model.runtime.mappedBytes)} mapped, ${mib(model.runtime.ownedBytes)} owned`],
    ];
    const w = Math.max(...rows.map(([k]) => k.length));
    await writeOut(rows.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join(''));
  } finally {
    model.dispose();
  }
}
