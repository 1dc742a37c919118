/**
 * Options shared by the CLI commands, named like the API (--max-tokens <-> maxTokens), with
 * parsers that reject malformed values as usage errors (exit code 2).
 */
import * as fs from 'fs';

import { InvalidArgumentError as CommanderArgumentError, Option, type Command } from 'commander';

import { GrammarError, InvalidArgumentError } from '../errors';
import { GENERATION_DEFAULTS, resolveGenerateOptions, type GenerateOptions } from '../generation/options';
import type { LoadOptions } from '../model';

/** Bad usage detected after parsing (an option value the API rejects): exit code 2. */
export class UsageError extends Error {}

function number(value: string): number {
  const v = Number(value);
  if (value.trim() === '' || !Number.isFinite(v)) throw new CommanderArgumentError('Not a number.');
  return v;
}

function integer(value: string): number {
  const v = number(value);
  if (!Number.isSafeInteger(v)) throw new CommanderArgumentError('Not an integer.');
  return v;
}

/** A whole number >= 1 (counts and sizes given as flags). */
export function positiveInteger(value: string): number {
  const v = integer(value);
  if (v < 1) throw new CommanderArgumentError('Not a positive integer.');
  return v;
}

function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
}

/** One --logit-bias ID=VALUE, added to the map of the earlier ones. */
function logitBiasEntry(value: string, previous: Record<number, number> | undefined): Record<number, number> {
  const m = /^\s*(\d+)\s*=\s*(\S+)\s*$/.exec(value);
  const bias = m ? Number(m[2]) : NaN;
  if (!m || !Number.isFinite(bias)) throw new CommanderArgumentError('Expected TOKEN_ID=VALUE, e.g. 1234=-100.');
  return { ...previous, [Number(m[1])]: bias };
}

/** The help of --model wherever it is accepted. */
export const MODEL_HELP = 'checkpoint folder, or a Hugging Face repository id pulled into the cache (e.g. google/recurrentgemma-2b-it); default: the embedded tiny-python demo model';
export const DOWNLOAD_HELP = 'when --model is a repository id that is not in the cache, download it first (as `pull` does)';

/** --model, --download and how to load it (the CLI face of LoadOptions: --threads, --simd, --precision, --weights, --huge-pages). */
export function addModelOptions(cmd: Command): Command {
  return cmd
    .option('-m, --model <dir|repo>', MODEL_HELP)
    .option('--download', DOWNLOAD_HELP)
    .option('--threads <n>', 'worker threads for the native kernels (default: physical cores)', integer)
    .addOption(new Option('--simd <level>', 'force a SIMD level').choices(['auto', 'scalar', 'avx2', 'avx512']))
    .addOption(new Option('--precision <p>', "matmul arithmetic: 'fast' rounds activations to bf16/int8 for prefill (needs avx512_bf16 + avx512_vnni)").choices(['exact', 'fast']))
    .addOption(new Option('--weights <format>', 'hold the projections as stored, or quantize them at load to int8 / q4').choices(['stored', 'int8', 'q4']))
    .option('--huge-pages', 'copy stored weights onto 2 MiB pages (faster streaming, more private memory)');
}

/** Parses --tokens 2,651,...: token ids separated by commas (range-checked once the model is loaded). */
export function tokenList(value: string): number[] {
  const parts = value.split(',').map((p) => p.trim());
  for (const p of parts) if (!/^\d+$/.test(p) || !Number.isSafeInteger(Number(p))) throw new CommanderArgumentError(`${JSON.stringify(p)} is not a token id (expected integers separated by commas).`);
  return parts.map(Number);
}

/** The sampling and stopping options of generate/complete. */
export function addGenerationOptions(cmd: Command, maxTokensDefault: number = GENERATION_DEFAULTS.maxTokens): Command {
  const d = GENERATION_DEFAULTS;
  return cmd
    .option('-n, --max-tokens <n>', 'most tokens to generate', integer, maxTokensDefault)
    .option('-t, --temperature <t>', 'softmax temperature; 0 = greedy', number, d.temperature)
    .option('--top-k <k>', 'sample among the k most likely tokens; 0 = no limit', integer, d.topK)
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1]', number, d.topP)
    .option('--min-p <p>', 'drop tokens below p x the best probability', number, d.minP)
    .option('--repetition-penalty <r>', 'penalise recently seen tokens (> 1)', number, d.repetitionPenalty)
    .option('--repetition-lookback <n>', 'how many recent tokens the penalty looks at', integer, d.repetitionLookback)
    .option('-s, --seed <n>', 'PRNG seed: same seed and options give the same text', integer)
    .option('--stop <text>', 'stop before this text (repeatable)', collect(String))
    .option('--stop-token <id>', 'stop at this token id (repeatable)', collect(integer))
    .option('--ignore-eos', 'keep generating past <eos> and <end_of_turn>')
    .option('--json-schema <file|json>', 'constrain the output to JSON valid against this JSON schema (a file, or the schema itself)')
    .option('--grammar <file>', 'constrain the output to this GBNF grammar file (llama.cpp format)')
    .option('--logit-bias <id=value>', 'add value in [-100, 100] to a token\'s logit; -100 bans it, 100 forces it (repeatable)', logitBiasEntry);
}

/** Parsed values of addModelOptions + addGenerationOptions. */
export interface CliGenerationValues extends CliModelValues {
  maxTokens: number;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  repetitionLookback: number;
  seed?: number;
  stop?: string[];
  stopToken?: number[];
  ignoreEos?: boolean;
  jsonSchema?: string;
  grammar?: string;
  logitBias?: Record<number, number>;
  /** generate --logprobs N: log-probabilities with N alternatives per token. */
  logprobs?: number;
}

/** Maps CLI values to API options and validates them before the model loads (bad values: UsageError). */
export function toGenerateOptions(v: CliGenerationValues): GenerateOptions {
  const options: GenerateOptions = {
    maxTokens: v.maxTokens,
    temperature: v.temperature,
    topK: v.topK,
    topP: v.topP,
    minP: v.minP,
    repetitionPenalty: v.repetitionPenalty,
    repetitionLookback: v.repetitionLookback,
    ...(v.seed !== undefined ? { seed: v.seed } : {}),
    ...(v.stop ? { stop: v.stop } : {}),
    ...(v.stopToken ? { stopTokens: v.stopToken } : {}),
    ...(v.ignoreEos ? { ignoreEos: true } : {}),
    ...(v.jsonSchema !== undefined ? { jsonSchema: readJsonSchema(v.jsonSchema) } : {}),
    ...(v.grammar !== undefined ? { grammar: readText(v.grammar, '--grammar') } : {}),
    ...(v.logitBias ? { logitBias: v.logitBias } : {}),
    ...(v.logprobs !== undefined ? { logprobs: true, topLogprobs: v.logprobs } : {}),
  };
  for (const t of options.stopTokens ?? []) if (t < 0) throw new UsageError(`--stop-token must be a token id ≥ 0, got ${t}`);
  try {
    resolveGenerateOptions(options, Number.MAX_SAFE_INTEGER); // token ids are range-checked again once the vocabulary is known
  } catch (e) {
    if (e instanceof InvalidArgumentError) throw new UsageError(toFlag(e.message));
    if (e instanceof GrammarError) throw new UsageError(`${options.grammar !== undefined ? '--grammar' : '--json-schema'}: ${e.message}`);
    throw e;
  }
  return options;
}

function readText(file: string, flag: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${file} (${(e as Error).message})`);
  }
}

/** --json-schema: the schema itself when the value is JSON text, otherwise a file holding it. */
function readJsonSchema(value: string): object | boolean {
  const inline = /^\s*[{[]|^\s*(true|false)\s*$/.test(value);
  const text = inline ? value : readText(value, '--json-schema');
  try {
    return JSON.parse(text) as object | boolean;
  } catch (e) {
    throw new UsageError(`--json-schema: ${inline ? 'the value' : value} is not valid JSON (${(e as Error).message})`);
  }
}

/** API option names -> the CLI flags that set them (repeatable flags fill the arrays). */
const FLAGS: Record<string, string> = {
  maxTokens: '--max-tokens',
  temperature: '--temperature',
  topK: '--top-k',
  topP: '--top-p',
  minP: '--min-p',
  repetitionPenalty: '--repetition-penalty',
  repetitionLookback: '--repetition-lookback',
  seed: '--seed',
  stop: '--stop',
  stopTokens: '--stop-token',
  jsonSchema: '--json-schema',
  grammar: '--grammar',
  logitBias: '--logit-bias',
  topLogprobs: '--logprobs',
  threads: '--threads',
  simd: '--simd',
};

/**
 * Rewrites an API option name at the start of a message as the CLI flag: `topP must be …` ->
 * `--top-p must be …`, `stopTokens[1] must be …` -> `--stop-token must be …` (the flag is
 * repeatable, so the index means nothing on the command line).
 */
export function toFlag(message: string): string {
  return message.replace(/^([a-zA-Z]+)(\[\d+\])?/, (whole, name: string) => FLAGS[name] ?? whole);
}

/** Parsed values of addModelOptions. */
export interface CliModelValues {
  model?: string;
  download?: boolean;
  threads?: number;
  simd?: LoadOptions['simd'];
  precision?: LoadOptions['precision'];
  weights?: LoadOptions['weights'];
  hugePages?: boolean;
}

/** Load options from CLI values. */
export function toLoadOptions(v: CliModelValues): LoadOptions {
  return {
    ...(v.threads !== undefined ? { threads: v.threads } : {}),
    ...(v.simd !== undefined ? { simd: v.simd } : {}),
    ...(v.precision !== undefined ? { precision: v.precision } : {}),
    ...(v.weights !== undefined ? { weights: v.weights } : {}),
    ...(v.hugePages ? { hugePages: true } : {}),
  };
}
