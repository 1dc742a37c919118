#!/usr/bin/env node
/**
 * `recurrentgemma` command line. Each command lives in its own file exporting
 * `register(program)`; adding one is an import plus an entry in COMMANDS.
 * Exit codes: 0 success, 1 runtime error (one line on stderr), 2 bad usage, 130 interrupted.
 */
import { Command, CommanderError } from 'commander';

import { HubError, InvalidArgumentError } from '../errors';
import * as bench from './bench';
import * as chat from './chat';
import * as evalCommand from './eval';
import * as generate from './generate';
import * as info from './info';
import * as perplexity from './perplexity';
import * as pull from './pull';
import * as quantize from './quantize';
import * as serve from './serve';
import * as synth from './synth';
import * as validate from './validate';
import { toFlag, UsageError } from './options';

const COMMANDS: { register(program: Command): void }[] = [generate, chat, info, validate, pull, synth, quantize, bench, serve, perplexity, evalCommand];

export const EXIT_RUNTIME = 1;
export const EXIT_USAGE = 2;

function version(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('../../package.json') as { version: string }).version;
}

/** Builds the program (exported for tests). */
export function createProgram(): Command {
  const program = new Command('recurrentgemma')
    .description('Run RecurrentGemma (Griffin) language models on the CPU. Without --model, commands use the embedded tiny-python demo model.')
    .version(version())
    // Each command reads its own options after its name (bench and its modes share option names).
    .enablePositionalOptions()
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) });
  for (const command of COMMANDS) command.register(program);
  return program;
}

/** One-line message for the error of a failed command. */
function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return message.trim().replace(/\s*\n\s*/g, '; ');
}

/** True for the error of writing to a closed pipe (`… | head -n 1`). */
function isClosedPipe(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === 'EPIPE';
}

/**
 * stdout failures end the command: a reader that went away (EPIPE) quietly with exit 0, as
 * Unix tools do; any other write error (ENOSPC, EIO, ...) with one line on stderr and exit 1.
 * Installed before anything is written, so no write error is ever an unhandled 'error' event.
 */
export function handleStdoutErrors(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (isClosedPipe(e)) process.exit(0);
    process.stderr.write(`recurrentgemma: cannot write to stdout (${e.code ?? e.message})\n`);
    process.exit(EXIT_RUNTIME);
  });
}

export async function main(argv: string[] = process.argv): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    return process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (e) {
    if (isClosedPipe(e)) return 0;
    if (e instanceof CommanderError) {
      // Commander already printed its message; help and version end with exitCode 0.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    if (e instanceof UsageError || e instanceof InvalidArgumentError) {
      // The API names its options (threads, topP); the user typed flags (--threads, --top-p).
      process.stderr.write(`error: ${toFlag(oneLine(e))}\n(run with --help for usage)\n`);
      return EXIT_USAGE;
    }
    // Hub refusals carry numbered steps (the licence acceptance): keep their lines.
    process.stderr.write(`recurrentgemma: ${e instanceof HubError ? e.message.trim() : oneLine(e)}\n`);
    if (process.env.RECURRENTGEMMA_DEBUG && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
    return EXIT_RUNTIME;
  }
}

if (require.main === module) {
  handleStdoutErrors();
  void main().then((code) => {
    process.exitCode = code;
  });
}
