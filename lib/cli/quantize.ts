/** `recurrentgemma quantize`: write an int8 or 4-bit copy of a checkpoint that loads as is. */
import { Command, Option } from 'commander';

import type { Quantization } from '../checkpoint';
import { quantizeCheckpoint } from '../quantize';
import { modelDir } from './load';

export function register(program: Command): void {
  program
    .command('quantize')
    .description('quantize the projection matrices of a checkpoint (symmetric, one F32 scale per 32 weights) into a new folder')
    .requiredOption('-m, --model <dir|repo>', 'source checkpoint folder, or a Hugging Face repository id pulled into the cache')
    .requiredOption('-o, --out <dir>', 'output folder')
    .addOption(new Option('--format <format>', 'int8 or 4-bit').choices(['int8', 'q4']).default('int8'))
    .action(async (o: { model: string; out: string; format: Quantization }) => {
      const r = quantizeCheckpoint((await modelDir(o.model))!, o.out, o.format, {
        onProgress: (done, total) => {
          if (process.stderr.isTTY) process.stderr.write(`\rquantizing ${Math.floor((100 * done) / total)} %`);
        },
      });
      if (process.stderr.isTTY) process.stderr.write('\r');
      process.stdout.write(`${r.outDir}: ${r.format}, ${r.quantized} matrices quantized, ${r.copied} tensors copied, ${(r.bytes / 2 ** 20).toFixed(1)} MiB\n`);
    });
}
