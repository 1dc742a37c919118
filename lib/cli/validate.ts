/**
 * `recurrentgemma validate`: checks a checkpoint folder without loading it — config, safetensors
 * framing, tensor names/shapes/dtypes — and with --scan-values reads every weight for NaN/±Inf.
 * Exit code 0 when the checkpoint is usable, 1 when it has errors.
 */
import type { Command } from 'commander';

import { validateCheckpoint } from '../checkpoint/validate';
import { DEFAULT_MODEL_DIR } from '../model';
import { modelDir } from './load';
import { DOWNLOAD_HELP, MODEL_HELP } from './options';
import { writeOut } from './io';

interface ValidateValues {
  model?: string;
  download?: boolean;
  scanValues?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('check a checkpoint folder (config, safetensors headers, tensor names/shapes/dtypes, tokenizer and chat template; --scan-values also reads every weight for NaN/Inf)')
    .option('-m, --model <dir|repo>', MODEL_HELP)
    .option('--download', DOWNLOAD_HELP)
    .option('--scan-values', 'read every tensor and report NaN / +Inf / -Inf values')
    .option('--json', 'print the report as one JSON object')
    .action(run);
}

async function run(values: ValidateValues): Promise<void> {
  const dir = (await modelDir(values.model, values.download === true)) ?? DEFAULT_MODEL_DIR;
  const report = await validateCheckpoint(dir, {
    scanValues: values.scanValues ?? false,
    onProgress: process.stderr.isTTY ? (done, total) => process.stderr.write(`\rscanning ${((100 * done) / Math.max(1, total)).toFixed(0)}%`) : undefined,
  });
  if (process.stderr.isTTY && values.scanValues) process.stderr.write('\n');
  if (values.json) {
    await writeOut(`${JSON.stringify(report, null, 2)}\n`);
  } else {
    const lines = [`${report.ok ? 'ok' : 'INVALID'}: ${report.dir} (${report.tensorCount} tensors${values.scanValues ? `, ${report.scannedBytes} bytes scanned` : ''})`];
    const t = report.tokenizer;
    if (t) {
      const ids = Object.entries(t.specialTokens).map(([name, id]) => `<${name}> ${id ?? 'missing'}`).join(', ');
      lines.push(`tokenizer: ${t.vocabSize} ids (${ids}); chat template: ${t.chatTemplate === 'jinja' ? "tokenizer_config.json's, renders" : "none, Gemma's built-in turn format"}`);
    } else if (!report.issues.some((i) => i.file?.endsWith('tokenizer.json'))) {
      lines.push('tokenizer: none (no tokenizer.json: token ids only)');
    }
    for (const i of report.issues) lines.push(`${i.severity} ${i.code}: ${i.message}`);
    await writeOut(`${lines.join('\n')}\n`);
  }
  if (!report.ok) process.exitCode = 1;
}
