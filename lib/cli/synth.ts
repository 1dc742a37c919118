/** `recurrentgemma synth`: write a random-weight checkpoint in the real Hugging Face layout. */
import { Command, InvalidArgumentError as CommanderArgumentError, Option } from 'commander';

import { synthesizeCheckpoint, type SynthDType, type SynthPreset } from '../synth';
import { GEMMA_TOKENIZER, GEMMA_TOKENIZER_PACKAGE, resolveTokenizerFile } from '../synth-tokenizer';
import { UsageError } from './options';

function positiveInt(value: string): number {
  const v = Number(value);
  if (!Number.isSafeInteger(v) || v < 1) throw new CommanderArgumentError('Not a positive integer.');
  return v;
}

const SIZE_KEYS: Record<string, string> = {
  vocab: 'vocab_size',
  width: 'hidden_size',
  mlpWidth: 'intermediate_size',
  layers: 'num_hidden_layers',
  heads: 'num_attention_heads',
  lruWidth: 'lru_width',
  window: 'attention_window_size',
};

export function register(program: Command): void {
  program
    .command('synth')
    .description('write a random-weight RecurrentGemma checkpoint (real HF names, shapes and sizes) for benchmarks and tests')
    .requiredOption('-o, --out <dir>', 'output folder (created; existing safetensors in it are replaced)')
    .addOption(new Option('--preset <name>', 'architecture').choices(['2b', '9b', 'tiny']).default('tiny'))
    .addOption(new Option('--dtype <dtype>', 'storage dtype').choices(['bf16', 'f32']).default('bf16'))
    .option('--seed <n>', 'random seed', positiveInt, 1234)
    .option('--vocab <n>', 'override vocab_size', positiveInt)
    .option('--width <n>', 'override hidden_size', positiveInt)
    .option('--mlp-width <n>', 'override intermediate_size (2 x the MLP branch width, as in config.json)', positiveInt)
    .option('--layers <n>', 'override num_hidden_layers', positiveInt)
    .option('--heads <n>', 'override num_attention_heads', positiveInt)
    .option('--lru-width <n>', 'override lru_width', positiveInt)
    .option('--window <n>', 'override attention_window_size', positiveInt)
    .option('--shard-bytes <n>', 'largest safetensors shard', positiveInt)
    .option('--tokenizer <file|gemma>', `add a tokenizer: a tokenizer.json (its tokenizer_config.json too when beside it), or "${GEMMA_TOKENIZER}" for Google's Gemma 256k tokenizer from ${GEMMA_TOKENIZER_PACKAGE}`)
    .addHelpText('after', `\nExamples:\n  $ recurrentgemma synth --preset 2b --out /tmp/rg2b --tokenizer ${GEMMA_TOKENIZER}\n  $ recurrentgemma generate --model /tmp/rg2b -n 16 --stats "Hello"`)
    .action((o: Record<string, unknown>) => {
      const overrides: Record<string, number> = {};
      for (const [opt, key] of Object.entries(SIZE_KEYS)) if (typeof o[opt] === 'number') overrides[key] = o[opt] as number;
      let tokenizer: string | undefined;
      if (typeof o.tokenizer === 'string') {
        try {
          tokenizer = resolveTokenizerFile(o.tokenizer);
        } catch (e) {
          throw new UsageError(`--tokenizer: ${(e as Error).message}`);
        }
      }
      let lastPct = -1;
      const r = synthesizeCheckpoint(o.out as string, {
        preset: o.preset as SynthPreset,
        dtype: o.dtype as SynthDType,
        seed: o.seed as number,
        overrides,
        shardBytes: o.shardBytes as number | undefined,
        tokenizer,
        onProgress: (done, total) => {
          const p = Math.floor((100 * done) / total);
          if (process.stderr.isTTY && p !== lastPct) process.stderr.write(`\rwriting ${p} %`);
          lastPct = p;
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\r');
      process.stdout.write(`${r.dir}: ${r.params >= 1e9 ? `${(r.params / 1e9).toFixed(3)} B` : `${(r.params / 1e6).toFixed(2)} M`} parameters, ${(r.bytes / 2 ** 20).toFixed(1)} MiB in ${r.files.length} file(s)${r.tokenizerFiles.length > 0 ? ', with a tokenizer' : ''}\n`);
    });
}
