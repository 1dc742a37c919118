/**
 * `recurrentgemma generate [prompt]`: streams the continuation of a prompt (argument or stdin)
 * to stdout. Only generated text goes to stdout; everything else goes to stderr.
 */
import type { Command } from 'commander';

import { ChatTemplate } from '../chat';
import type { Prompt } from '../generation/generate';
import { addGenerationOptions, addModelOptions, toGenerateOptions, toLoadOptions, UsageError, type CliGenerationValues } from './options';
import { loadModel } from './load';
import { readStdin, withInterrupt, writeOut } from './io';

interface GenerateValues extends CliGenerationValues {
  chat?: boolean;
  stats?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('generate')
    .alias('gen')
    .description('continue a prompt (given as an argument, or on stdin) and stream the text to stdout')
    .argument('[prompt]', 'the text to continue (read from stdin when omitted)');
  addModelOptions(cmd);
  addGenerationOptions(cmd)
    .option('--chat', "wrap the prompt as one user turn in the model's chat template (for instruction-tuned checkpoints)")
    .option('--stats', 'print token counts and speed to stderr at the end')
    .option('--json', 'print one JSON object per generated token ({"token", "text", ...}) instead of the text')
    .option('--logprobs <n>', "with --json: each token's log-probability and the n (0-20) most likely alternatives", (v) => Number(v))
    .addHelpText('after', '\nExamples:\n  $ recurrentgemma generate "def fibonacci(n):"\n  $ echo "import os" | recurrentgemma generate -t 0 -n 40\n  $ recurrentgemma generate --model ~/models/recurrentgemma-2b-it --chat "Write a haiku about state."')
    .action(run);
}

async function run(promptArg: string | undefined, values: GenerateValues): Promise<void> {
  if (values.logprobs !== undefined && !values.json) throw new UsageError('--logprobs needs --json (log-probabilities are printed as JSON lines)');
  const options = toGenerateOptions(values);
  let text = promptArg;
  if (text === undefined) {
    if (process.stdin.isTTY) throw new UsageError('no prompt: pass it as an argument or on stdin');
    text = await readStdin();
  }
  // An empty prompt would generate from <bos> alone: almost certainly a mistake (an empty file or variable).
  if (text.trim().length === 0) throw new UsageError(promptArg === undefined ? 'the prompt on stdin is empty' : 'the prompt is empty');
  const model = await loadModel(values.model, toLoadOptions(values), values.download === true);
  try {
    let prompt: Prompt = text;
    if (values.chat) {
      const t = model.tokenizer;
      prompt = new ChatTemplate(t.chatTemplate, t.bosToken).encode([{ role: 'user', content: text }], true, t);
    }
    const started = process.hrtime.bigint();
    let firstToken = 0n;
    let last: { finishReason?: string; promptTokens?: number; generatedTokens?: number } = {};
    let endsWithNewline = true;
    const { interrupted } = await withInterrupt(async (signal) => {
      for await (const chunk of model.generate(prompt, { ...options, signal })) {
        if (firstToken === 0n) firstToken = process.hrtime.bigint();
        if (chunk.text.length > 0) endsWithNewline = chunk.text.endsWith('\n');
        await writeOut(values.json ? JSON.stringify(chunk) + '\n' : chunk.text);
        last = chunk;
      }
    });
    // A terminal gets a final newline; a pipe gets exactly the generated text.
    if (process.stdout.isTTY && !endsWithNewline && !values.json) await writeOut('\n');
    if (values.stats) {
      const ended = process.hrtime.bigint();
      const decodeSeconds = Number(ended - firstToken) / 1e9;
      const generated = last.generatedTokens ?? 0;
      process.stderr.write(
        `[${last.finishReason}] prompt ${last.promptTokens} tokens, generated ${generated} tokens in ${(Number(ended - started) / 1e9).toFixed(2)} s` +
          (generated > 1 ? `, ${((generated - 1) / decodeSeconds).toFixed(1)} tokens/s decode` : '') +
          '\n',
      );
    }
    if (interrupted) process.exitCode = 130;
  } finally {
    model.dispose();
  }
}
