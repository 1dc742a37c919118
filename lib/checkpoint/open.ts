import * as fs from 'fs';
import * as path from 'path';

import { CheckpointError } from '../errors';
import { notRegularFile } from '../file-kind';
import { parseConfig, type ModelConfig } from './config';
import { readSafetensorsHeader, type SafetensorsFile, type TensorSource, type WeightDType } from './safetensors';
import { isQuantizable, isQuantization, QUANT_GROUP, QUANTIZATION_CONFIG_KEY, QUANTIZATION_METADATA_KEY, quantizedLayout, SCALES_SUFFIX, type Quantization } from './quantized';
import { expectedTensors, OPTIONAL_TENSORS } from './tensors';

/** A validated checkpoint: config plus the location of every tensor the model needs. */
export interface Checkpoint {
  dir: string;
  config: ModelConfig;
  files: string[];
  tensors: TensorSource[];
  /** The dtype most weights are stored in (e.g. BF16 for the real checkpoints). */
  dtype: WeightDType;
  /** Set for folders written by `recurrentgemma quantize`. */
  quantization: Quantization | null;
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * What a checkpoint folder holds, for messages about one that does not (with the files found
 * there and where to get a full report).
 */
function expectedFiles(dir: string): string {
  let found: string[];
  try {
    found = fs.readdirSync(dir).sort();
  } catch {
    found = [];
  }
  return (
    `a checkpoint folder holds config.json, the weights (model.safetensors, or model.safetensors.index.json and the shards it lists) ` +
    `and, for text, tokenizer.json and tokenizer_config.json; found ${found.length > 0 ? found.join(', ') : 'nothing'}. ` +
    `\`recurrentgemma validate --model ${dir}\` checks a folder; \`recurrentgemma pull <owner/name>\` downloads one`
  );
}

function readJson(file: string, what: string): unknown {
  const problem = notRegularFile(file);
  if (problem === 'does not exist') throw new CheckpointError(`${file}: ${what} not found (${expectedFiles(path.dirname(file))})`, 'ERR_RG_FILE_NOT_FOUND', { file });
  if (problem !== undefined) throw new CheckpointError(`${file}: ${what} ${problem}`, 'ERR_RG_FILE_NOT_FOUND', { file });
  const stat = fs.statSync(file);
  if (stat.size > MAX_CONFIG_BYTES) throw new CheckpointError(`${file}: ${what} is ${stat.size} bytes, larger than the ${MAX_CONFIG_BYTES}-byte limit`, 'ERR_RG_BAD_JSON', { file });
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new CheckpointError(`${file}: ${what} is not valid JSON (${(e as Error).message})`, 'ERR_RG_BAD_JSON', { file });
  }
}

/** Reads config.json. */
export function readConfig(dir: string): ModelConfig {
  const file = path.join(dir, 'config.json');
  return parseConfig(readJson(file, 'config.json'), file);
}

/** Lists the safetensors files of a folder: model.safetensors, or the shards of the index. */
function shardFiles(dir: string): { files: SafetensorsFile[]; weightMap?: Map<string, string> } {
  const single = path.join(dir, 'model.safetensors');
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(indexFile)) {
    const index = readJson(indexFile, 'safetensors index');
    const wm = (index as { weight_map?: unknown } | null)?.weight_map;
    if (typeof wm !== 'object' || wm === null || Array.isArray(wm))
      throw new CheckpointError(`${indexFile}: missing "weight_map" object`, 'ERR_RG_BAD_INDEX', { file: indexFile });
    const weightMap = new Map<string, string>();
    for (const [name, shard] of Object.entries(wm)) {
      if (typeof shard !== 'string' || shard.length === 0 || path.basename(shard) !== shard)
        throw new CheckpointError(`${indexFile}: tensor ${name} maps to an invalid shard name ${JSON.stringify(shard)}`, 'ERR_RG_BAD_INDEX', { file: indexFile, tensor: name });
      weightMap.set(name, shard);
    }
    const names = [...new Set(weightMap.values())].sort();
    const files = names.map((n) => {
      const p = path.join(dir, n);
      if (!fs.existsSync(p)) throw new CheckpointError(`${indexFile}: shard ${n} is missing`, 'ERR_RG_FILE_NOT_FOUND', { file: p });
      return readSafetensorsHeader(p);
    });
    return { files, weightMap };
  }
  if (!fs.existsSync(single))
    throw new CheckpointError(`${dir}: no weights (${expectedFiles(dir)})`, 'ERR_RG_FILE_NOT_FOUND', { file: single });
  return { files: [readSafetensorsHeader(single)] };
}

/**
 * Opens a Hugging Face RecurrentGemma folder and checks every tensor's presence, shape and dtype
 * against its config. All problems are collected and reported together, each by name.
 */
export function openCheckpoint(dir: string): Checkpoint {
  if (!fs.existsSync(dir)) throw new CheckpointError(`${dir}: does not exist`, 'ERR_RG_FILE_NOT_FOUND', { file: dir });
  if (!fs.statSync(dir).isDirectory())
    throw new CheckpointError(`${dir}: not a directory (a checkpoint is a folder with config.json and model.safetensors)`, 'ERR_RG_FILE_NOT_FOUND', { file: dir });
  const config = readConfig(dir);
  const rawConfig = readJson(path.join(dir, 'config.json'), 'config.json') as Record<string, unknown>;
  const { files, weightMap } = shardFiles(dir);
  const quantization = readQuantization(dir, files, rawConfig[QUANTIZATION_CONFIG_KEY]);
  const expected = expectedTensors(config);
  const found = new Map<string, TensorSource>();
  const problems: string[] = [];
  let firstTensor: string | undefined;
  const note = (msg: string, tensor?: string) => {
    problems.push(msg);
    firstTensor ??= tensor;
  };

  files.forEach((f, fileIndex) => {
    for (const t of f.tensors.values()) {
      if (found.has(t.name)) {
        note(`tensor ${t.name} appears in more than one file`, t.name);
        continue;
      }
      if (weightMap && weightMap.get(t.name) !== path.basename(f.path)) {
        note(`tensor ${t.name} is in ${path.basename(f.path)} but the index says ${weightMap.get(t.name) ?? '(not listed)'}`, t.name);
      }
      found.set(t.name, { name: t.name, file: fileIndex, dtype: t.dtype, shape: t.shape, offset: t.offset, nbytes: t.nbytes });
    }
  });
  if (weightMap) {
    for (const [name, shard] of weightMap) if (!found.has(name)) note(`tensor ${name} is listed in the index (shard ${shard}) but not found there`, name);
  }
  const scaleSources: TensorSource[] = [];
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (!t) {
      note(`missing tensor ${name} (expected shape [${shape.join(', ')}])`, name);
    } else if (t.dtype === 'I8' || t.dtype === 'U8') {
      const problem = checkQuantized(t, shape, quantization, found);
      if (problem) note(problem, name);
      else {
        t.dtype = t.dtype === 'I8' ? 'Q8' : 'Q4';
        t.shape = shape;
        scaleSources.push(found.get(name + SCALES_SUFFIX)!);
      }
    } else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      note(`tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`, name);
    }
  }
  for (const [name, t] of found) {
    if (expected.has(name) || OPTIONAL_TENSORS.has(name)) continue;
    if (name.endsWith(SCALES_SUFFIX) && expected.has(name.slice(0, -SCALES_SUFFIX.length)) && quantization !== null) {
      const owner = found.get(name.slice(0, -SCALES_SUFFIX.length));
      if (owner && owner.dtype !== 'Q8' && owner.dtype !== 'Q4') note(`tensor ${name} scales a tensor that is not quantized`, name);
      if (t.dtype !== 'F32') note(`tensor ${name} must be F32, got ${t.dtype}`, name);
      continue;
    }
    note(`unexpected tensor ${name} (not part of this config)`, name);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n  ');
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
    throw new CheckpointError(`${dir}: checkpoint does not match config.json:\n  ${shown}${more}`, 'ERR_RG_TENSOR_MISMATCH', { file: dir, tensor: firstTensor });
  }
  const tensors = [...[...expected.keys()].map((n) => found.get(n)!), ...scaleSources];
  const counts = new Map<WeightDType, number>();
  for (const t of tensors) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + t.nbytes);
  const dtype = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return { dir, config, files: files.map((f) => f.path), tensors, dtype, quantization };
}

/** The folder's quantization: every file's metadata must agree, and config.json if it says. */
function readQuantization(dir: string, files: SafetensorsFile[], configValue: unknown): Quantization | null {
  const declared = new Set(files.map((f) => f.metadata[QUANTIZATION_METADATA_KEY] ?? null));
  if (declared.size > 1)
    throw new CheckpointError(`${dir}: safetensors files disagree on "${QUANTIZATION_METADATA_KEY}" (${[...declared].join(', ')})`, 'ERR_RG_QUANTIZATION');
  const q = [...declared][0] ?? null;
  if (q !== null && !isQuantization(q))
    throw new CheckpointError(`${dir}: unknown quantization ${JSON.stringify(q)} (expected "int8" or "q4")`, 'ERR_RG_QUANTIZATION');
  if (configValue !== undefined && configValue !== q)
    throw new CheckpointError(`${dir}: config.json says ${QUANTIZATION_CONFIG_KEY} = ${JSON.stringify(configValue)} but the weights are ${q === null ? 'not quantized' : JSON.stringify(q)}`, 'ERR_RG_QUANTIZATION');
  return q;
}

/** Checks one I8 / U8 tensor against the quantized-checkpoint convention; returns a problem or null. */
function checkQuantized(t: TensorSource, shape: number[], q: Quantization | null, found: Map<string, TensorSource>): string | null {
  if (q === null) return `tensor ${t.name} is ${t.dtype} but the file does not declare "${QUANTIZATION_METADATA_KEY}"`;
  if (!isQuantizable(t.name, shape)) return `tensor ${t.name} is ${t.dtype} but only projection matrices with a multiple of ${QUANT_GROUP} columns may be quantized`;
  const want = quantizedLayout(q, shape[0]!, shape[1]!);
  if (t.dtype !== want.dtype) return `tensor ${t.name} is ${t.dtype} but a ${q} checkpoint stores ${want.dtype}`;
  if (t.shape.length !== 2 || t.shape[0] !== want.shape[0] || t.shape[1] !== want.shape[1])
    return `tensor ${t.name} has shape [${t.shape.join(', ')}], expected [${want.shape.join(', ')}] for ${q} of [${shape.join(', ')}]`;
  const s = found.get(t.name + SCALES_SUFFIX);
  if (!s) return `missing tensor ${t.name}${SCALES_SUFFIX} (the scales of quantized ${t.name})`;
  if (s.dtype !== 'F32' || s.shape.length !== 2 || s.shape[0] !== shape[0] || s.shape[1] !== shape[1]! / QUANT_GROUP)
    return `tensor ${s.name} must be F32 [${shape[0]}, ${shape[1]! / QUANT_GROUP}], got ${s.dtype} [${s.shape.join(', ')}]`;
  return null;
}
