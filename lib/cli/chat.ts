/**
 * `recurrentgemma chat`: an interactive conversation in the terminal (readline). Each line is a
 * user turn; the reply streams to stdout. The session keeps the model state, so every turn only
 * prefills its own text. With stdin not a terminal, each input line is one turn (no prompts).
 */
import * as readline from 'readline';

import type { Command } from 'commander';

import type { ChatSession } from '../chat';
import type { GenerateOptions, GenerationEnd } from '../generation/options';
import { DEFAULT_MODEL_DIR, type RecurrentGemma } from '../model';
import { loadModel } from './load';
import { addGenerationOptions, addModelOptions, toGenerateOptions, toLoadOptions, UsageError, type CliGenerationValues } from './options';
import { formatTimings, LENGTH_MARKER } from './timings';
import { writeOut } from './io';

const HELP =
  'commands: /reset (forget the conversation), /history, /stats (timings of the last reply), /save FILE, /load FILE, /exit; Ctrl-C stops a reply, Ctrl-D or Ctrl-C at the prompt quits';

interface ChatValues extends CliGenerationValues {
  system?: string;
}

export function register(program: Command): void {
  const cmd = program.command('chat').description("chat in the terminal, in the model's chat template (Gemma's turn format)");
  addModelOptions(cmd);
  addGenerationOptions(cmd, 512)
    .option('--system <text>', 'a system prompt (Gemma has no system role: it starts the first user turn, then a blank line)')
    .addHelpText('after', `\nIn the chat, ${HELP}. A reply cut by --max-tokens is marked [length] on stderr.\n\nExample:\n  $ recurrentgemma chat --model ~/models/recurrentgemma-2b-it --system "Answer briefly."`)
    .action(run);
}

/** What the /commands act on: the session (replaced by /load), the options it was made with, the last reply. */
interface ChatContext {
  session: ChatSession;
  readonly model: RecurrentGemma;
  readonly options: GenerateOptions;
  last?: GenerationEnd;
}

/** Handles a /command; returns false to quit. */
async function command(line: string, ctx: ChatContext, tty: boolean): Promise<boolean> {
  const name = line.split(/\s+/)[0];
  const arg = line.slice(name!.length).trim();
  const session = ctx.session;
  switch (name) {
    case '/exit':
    case '/quit':
      return false;
    case '/reset':
      session.reset();
      process.stderr.write('(conversation reset)\n');
      return true;
    case '/history':
      for (const m of session.history) await writeOut(`${m.role}: ${m.content}\n`);
      return true;
    case '/stats':
      process.stderr.write(`${session.history.length} messages, state at position ${session.state.position}, ${session.state.byteLength} bytes\n`);
      if (ctx.last) process.stderr.write(`last reply: ${ctx.last.generatedTokens} tokens [${ctx.last.finishReason}]; ${formatTimings(ctx.last.timings)}\n`);
      else if (ctx.model.loadMs !== undefined) process.stderr.write(`load ${ctx.model.loadMs.toFixed(0)} ms; no reply yet\n`);
      return true;
    case '/save':
    case '/load':
      if (arg.length === 0) {
        process.stderr.write(`${name} needs a file name: ${name} FILE\n`);
        return true;
      }
      try {
        if (name === '/save') {
          await session.save(arg);
          process.stderr.write(`(saved ${session.history.length} messages to ${arg})\n`);
        } else {
          const loaded = await ctx.model.loadChatSession(arg, { generation: ctx.options });
          session.dispose();
          ctx.session = loaded;
          ctx.last = undefined;
          process.stderr.write(`(loaded ${loaded.history.length} messages from ${arg})\n`);
        }
      } catch (e) {
        // A bad file is the user's to fix; the conversation goes on.
        process.stderr.write(`${name} failed: ${(e as Error).message}\n`);
      }
      return true;
    case '/help':
      process.stderr.write(`${HELP}\n`);
      return true;
    default:
      process.stderr.write(`unknown command ${name}${tty ? ' (/help lists them)' : ''}\n`);
      return true;
  }
}

async function run(values: ChatValues): Promise<void> {
  const options: GenerateOptions = toGenerateOptions(values);
  if (values.system !== undefined && values.system.length === 0) throw new UsageError('--system needs a non-empty text');
  const tty = process.stdin.isTTY === true;
  const model = await loadModel(values.model, toLoadOptions(values), values.download === true);
  const ctx: ChatContext = { session: model.createChatSession({ generation: options, ...(values.system !== undefined ? { systemPrompt: values.system } : {}) }), model, options };
  const rl = readline.createInterface({ input: process.stdin, output: tty ? process.stdout : undefined, terminal: tty });
  let reply: AbortController | undefined;
  // Ctrl-C stops the reply being generated; at the prompt it quits.
  rl.on('SIGINT', () => (reply ? reply.abort() : rl.close()));
  const onSigint = () => (reply ? reply.abort() : process.exit(130));
  process.on('SIGINT', onSigint);
  try {
    if (tty) {
      const note = model.dir === DEFAULT_MODEL_DIR ? ' (the embedded demo model only knows Python code; use --model for a real checkpoint)' : '';
      process.stderr.write(`Chatting with ${model.dir}${note}\n${HELP}\n`);
      rl.setPrompt('> ');
      rl.prompt();
    }
    for await (const raw of rl) {
      const line = raw.trim();
      if (line.length > 0) {
        if (line.startsWith('/')) {
          if (!(await command(line, ctx, tty))) break;
        } else {
          reply = new AbortController();
          let last = '';
          const stream = ctx.session.promptStream(line, { signal: reply.signal });
          for (let r = await stream.next(); ; r = await stream.next()) {
            if (r.done) {
              ctx.last = r.value;
              break;
            }
            await writeOut(r.value.text);
            if (r.value.text.length > 0) last = r.value.text;
          }
          reply = undefined;
          if (!last.endsWith('\n')) await writeOut('\n');
          if (ctx.last?.finishReason === 'abort') process.stderr.write('(stopped)\n');
          if (ctx.last?.finishReason === 'length') process.stderr.write(`${LENGTH_MARKER} (the reply reached --max-tokens)\n`);
        }
      }
      if (tty) rl.prompt();
    }
  } finally {
    process.off('SIGINT', onSigint);
    rl.close();
    ctx.session.dispose();
    model.dispose();
  }
}
