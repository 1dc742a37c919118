/**
 * `recurrentgemma generate [prompt]`: streams the continuation of a prompt (argument, stdin or
 * --tokens) to stdout, or prints it as one JSON object with --json. Only generated text goes to stdout; everything else goes to stderr.
 */
import type { Command } from 'commander';

import { ChatTemplate } from '../chat';
import type { Prompt } from '../generation/generate';
import type { GenerationEnd, TokenLogprob } from '../generation/options';
import { addGenerationOptions, addModelOptions, tokenList, toGenerateOptions, toLoadOptions, UsageError, type CliGenerationValues } from './options';
import { formatTimings, LENGTH_MARKER } from './timings';
import { loadModel } from './load';
import { readStdin, withInterrupt, writeOut } from './io';

interface GenerateValues extends CliGenerationValues {
  chat?: boolean;
  stats?: boolean;
  json?: boolean;
  tokens?: number[];
}

export function register(program: Command): void {
  const cmd = program
    .command('generate')
    .alias('gen')
    .description('continue a prompt (given as an argument, on stdin, or as token ids) and stream the text to stdout')
    .argument('[prompt]', 'the text to continue (read from stdin when omitted)');
  addModelOptions(cmd);
  addGenerationOptions(cmd)
    .option('--tokens <ids>', 'the prompt as token ids separated by commas, used exactly as given (e.g. 2,651,1288)', tokenList)
    .option('--chat', "wrap the prompt as one user turn in the model's chat template (for instruction-tuned checkpoints)")
    .option('--json', 'print one JSON object at the end (text, tokens, finishReason, promptTokens, generatedTokens, timings) instead of streaming text')
    .option('--logprobs <n>', "with --json: each token's log-probability and the n (0-20) most likely alternatives, in a logprobs array", (v) => Number(v))
    .option('--stats', 'print token counts and timings (load, first token, prefill and decode speed) to stderr at the end')
    .addHelpText(
      'after',
      '\nA reply cut by --max-tokens is marked [length] on stderr.\n\nExamples:\n  $ recurrentgemma generate "def fibonacci(n):"\n  $ echo "import os" | recurrentgemma generate -t 0 -n 40\n  $ recurrentgemma generate --tokens 2,651 --json -n 8\n  $ recurrentgemma generate --model ~/models/recurrentgemma-2b-it --chat "Write a haiku about state."',
    )
    .action(run);
}

async function run(promptArg: string | undefined, values: GenerateValues): Promise<void> {
  if (values.logprobs !== undefined && !values.json) throw new UsageError('--logprobs needs --json (log-probabilities are printed in the JSON object)');
  const options = toGenerateOptions(values);
  if (values.tokens !== undefined && promptArg !== undefined) throw new UsageError('give the prompt as text or as --tokens, not both');
  if (values.tokens !== undefined && values.chat) throw new UsageError('--chat wraps text in the chat template; it cannot be combined with --tokens');
  let text = promptArg;
  if (text === undefined && values.tokens === undefined) {
    if (process.stdin.isTTY) throw new UsageError('no prompt: pass it as an argument, on stdin or with --tokens');
    text = await readStdin();
  }
  // An empty prompt would generate from <bos> alone: almost certainly a mistake (an empty file or variable).
  if (text !== undefined && text.trim().length === 0) throw new UsageError(promptArg === undefined ? 'the prompt on stdin is empty' : 'the prompt is empty');
  const model = await loadModel(values.model, toLoadOptions(values), values.download === true);
  try {
    let prompt: Prompt;
    if (values.tokens !== undefined) {
      try {
        prompt = Array.from(model.checkTokens(values.tokens));
      } catch (e) {
        throw new UsageError(`--tokens: ${(e as Error).message}`);
      }
    } else if (values.chat) {
      const t = model.tokenizer;
      prompt = new ChatTemplate(t.chatTemplate, t.bosToken).encode([{ role: 'user', content: text! }], true, t);
    } else {
      prompt = text!;
    }
    const parts: string[] = [];
    const tokens: number[] = [];
    const logprobs: TokenLogprob[] = [];
    let endsWithNewline = true;
    const { result: end, interrupted } = await withInterrupt(async (signal): Promise<GenerationEnd> => {
      const stream = model.generate(prompt, { ...options, signal });
      for (let r = await stream.next(); ; r = await stream.next()) {
        if (r.done) return r.value;
        const chunk = r.value;
        if (values.json) {
          parts.push(chunk.text);
          tokens.push(chunk.token);
          if (chunk.logprob !== undefined) logprobs.push({ token: chunk.token, logprob: chunk.logprob, ...(chunk.topLogprobs ? { topLogprobs: chunk.topLogprobs } : {}) });
          continue;
        }
        if (chunk.text.length > 0) endsWithNewline = chunk.text.endsWith('\n');
        await writeOut(chunk.text);
      }
    });
    if (values.json) {
      await writeOut(`${JSON.stringify({ text: parts.join(''), tokens, ...end, ...(values.logprobs !== undefined ? { logprobs } : {}) })}\n`);
    } else {
      // A terminal gets a final newline; a pipe gets exactly the generated text.
      if (process.stdout.isTTY && !endsWithNewline) await writeOut('\n');
      if (end.finishReason === 'length') process.stderr.write(`${LENGTH_MARKER} stopped after ${end.generatedTokens} tokens (--max-tokens)\n`);
    }
    if (values.stats) process.stderr.write(`[${end.finishReason}] prompt ${end.promptTokens} tokens, generated ${end.generatedTokens} tokens; ${formatTimings(end.timings)}\n`);
    if (interrupted) process.exitCode = 130;
  } finally {
    model.dispose();
  }
}
