/**
 * `recurrentgemma chat`: an interactive conversation in the terminal (readline). Each line is a
 * user turn; the reply streams to stdout. The session keeps the model state, so every turn only
 * prefills its own text. With stdin not a terminal, each input line is one turn (no prompts).
 */
import * as readline from 'readline';

import type { Command } from 'commander';

import type { ChatSession } from '../chat';
import type { GenerateOptions } from '../generation/options';
import { DEFAULT_MODEL_DIR } from '../model';
import { loadModel } from './load';
import { addGenerationOptions, addModelOptions, toGenerateOptions, toLoadOptions, type CliGenerationValues } from './options';
import { writeOut } from './io';

const HELP = 'commands: /reset (forget the conversation), /history, /stats, /exit; Ctrl-C stops a reply, Ctrl-D or Ctrl-C at the prompt quits';

export function register(program: Command): void {
  const cmd = program.command('chat').description("chat in the terminal, in the model's chat template (Gemma's turn format)");
  addModelOptions(cmd);
  addGenerationOptions(cmd, 512)
    .addHelpText('after', `\nIn the chat, ${HELP}.\n\nExample:\n  $ recurrentgemma chat --model ~/models/recurrentgemma-2b-it`)
    .action(run);
}

/** Handles a /command; returns false to quit. */
async function command(line: string, session: ChatSession, tty: boolean): Promise<boolean> {
  const name = line.split(/\s+/)[0];
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
      return true;
    case '/help':
      process.stderr.write(`${HELP}\n`);
      return true;
    default:
      process.stderr.write(`unknown command ${name}${tty ? ' (/help lists them)' : ''}\n`);
      return true;
  }
}

async function run(values: CliGenerationValues): Promise<void> {
  const options: GenerateOptions = toGenerateOptions(values);
  const tty = process.stdin.isTTY === true;
  const model = await loadModel(values.model, toLoadOptions(values), values.download === true);
  const session = model.createChatSession({ generation: options });
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
          if (!(await command(line, session, tty))) break;
        } else {
          reply = new AbortController();
          let last = '';
          for await (const chunk of session.promptStream(line, { signal: reply.signal })) {
            await writeOut(chunk.text);
            if (chunk.text.length > 0) last = chunk.text;
            if (chunk.finishReason === 'abort') process.stderr.write('\n(stopped)');
          }
          reply = undefined;
          if (!last.endsWith('\n')) await writeOut('\n');
        }
      }
      if (tty) rl.prompt();
    }
  } finally {
    process.off('SIGINT', onSigint);
    rl.close();
    session.dispose();
    model.dispose();
  }
}
