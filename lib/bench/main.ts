#!/usr/bin/env node
/** `npm run bench -- [options]`: the bench command on its own (same options as `recurrentgemma bench`). */
import { Command } from 'commander';

import { register } from '../cli/bench';

const program = new Command('bench').enablePositionalOptions().exitOverride();
register(program);
program.parseAsync(['node', 'bench', 'bench', ...process.argv.slice(2)]).catch((e: unknown) => {
  if ((e as { code?: string }).code?.startsWith('commander.')) {
    process.exitCode = (e as { exitCode?: number }).exitCode ?? 2;
    return;
  }
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
