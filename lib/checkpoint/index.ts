import * as fs from 'fs';
import * as path from 'path';

import { CheckpointError } from '../errors';
import { parseConfig, type ModelConfig } from './config';
import { readSafetensorsHeader, type DType, type SafetensorsFile } from './safetensors';
import { expectedTensors, OPTIONAL_TENSORS } from './tensors';

export { parseConfig, roundToBf16, type BlockType, type ModelConfig } from './config';
export { readSafetensorsHeader, parseHeader, parseHeaderBytes, dtypeSize, type DType, type TensorEntry, type SafetensorsFile } from './safetensors';
export { expectedTensors } from './tensors';
export { validateCheckpoint, type ValidateOptions, type ValidationIssue, type ValidationReport, type NonFiniteCounts } from './validate';

/** A tensor as the native loader receives it: which file, where, what. */
export interface TensorSource {
  name: string;
  file: number;
  dtype: DType;
  shape: number[];
  offset: number;
  nbytes: number;
}

/** A validated checkpoint: config plus the location of every tensor the model needs. */
export interface Checkpoint {
  dir: string;
  config: ModelConfig;
  files: string[];
  tensors: TensorSource[];
  /** The dtype most weights are stored in (e.g. BF16 for the real checkpoints). */
  dtype: DType;
}

const MAX_CONFIG_BYTES = 1024 * 1024;

function readJson(file: string, what: string): unknown {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new CheckpointError(`${file}: ${what} not found`, 'ERR_RG_FILE_NOT_FOUND', { file });
  }
  if (!stat.isFile()) throw new CheckpointError(`${file}: ${what} is not a regular file`, 'ERR_RG_FILE_NOT_FOUND', { file });
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
    throw new CheckpointError(`${dir}: no model.safetensors or model.safetensors.index.json`, 'ERR_RG_FILE_NOT_FOUND', { file: single });
  return { files: [readSafetensorsHeader(single)] };
}

/**
 * Opens a Hugging Face RecurrentGemma folder and checks every tensor's presence, shape and dtype
 * against its config. All problems are collected and reported together, each by name.
 */
export function openCheckpoint(dir: string): Checkpoint {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory())
    throw new CheckpointError(`${dir}: not a directory`, 'ERR_RG_FILE_NOT_FOUND', { file: dir });
  const config = readConfig(dir);
  const { files, weightMap } = shardFiles(dir);
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
  for (const [name, shape] of expected) {
    const t = found.get(name);
    if (!t) note(`missing tensor ${name} (expected shape [${shape.join(', ')}])`, name);
    else if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i]))
      note(`tensor ${name} has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`, name);
  }
  for (const name of found.keys()) {
    if (!expected.has(name) && !OPTIONAL_TENSORS.has(name)) note(`unexpected tensor ${name} (not part of this config)`, name);
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('\n  ');
    const more = problems.length > 20 ? `\n  ... and ${problems.length - 20} more` : '';
    throw new CheckpointError(`${dir}: checkpoint does not match config.json:\n  ${shown}${more}`, 'ERR_RG_TENSOR_MISMATCH', { file: dir, tensor: firstTensor });
  }
  const tensors = [...expected.keys()].map((n) => found.get(n)!);
  const counts = new Map<DType, number>();
  for (const t of tensors) counts.set(t.dtype, (counts.get(t.dtype) ?? 0) + t.nbytes);
  const dtype = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  return { dir, config, files: files.map((f) => f.path), tensors, dtype };
}
