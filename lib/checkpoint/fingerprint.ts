/**
 * Identity of a loaded model, used to refuse restoring a saved state into a model it was not
 * computed by. Two parts:
 * - the config fingerprint: every architecture field that shapes the state or the forward pass;
 * - the weights fingerprint: every tensor's name, dtype and shape, plus a checksum of a small
 *   sample of each tensor's bytes (its first and last bytes, a few KB per checkpoint in total),
 *   so a fine-tune of the same architecture is told apart without hashing gigabytes at load.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';

import { CheckpointError } from '../errors';
import type { ModelConfig } from './config';
import type { TensorSource } from './safetensors';

/** The identity of a loaded model (hex SHA-256 digests). */
export interface ModelFingerprint {
  /** Digest of the architecture (the config fields that matter to the state and the math). */
  config: string;
  /** Digest of tensor names, dtypes, shapes and a sample of the weight bytes. */
  weights: string;
}

/** Bytes read from each end of every tensor (at most 2 x this per tensor). */
export const WEIGHT_SAMPLE_BYTES = 32;

/** The config fields that define the model's computation (also what the native model is built from). */
export type ArchitectureFields = Pick<ModelConfig, 'vocabSize' | 'width' | 'mlpWidth' | 'lruWidth' | 'numHeads' | 'headDim' | 'numLayers' | 'blockTypes' | 'window' | 'convWidth' | 'logitsSoftCap' | 'rmsNormEps' | 'embedScale' | 'ropeTheta' | 'ropeDims'>;

/** The config fields that define the model's computation, in a fixed order. */
export function configIdentity(c: ModelConfig): ArchitectureFields {
  return {
    vocabSize: c.vocabSize,
    width: c.width,
    mlpWidth: c.mlpWidth,
    lruWidth: c.lruWidth,
    numHeads: c.numHeads,
    headDim: c.headDim,
    numLayers: c.numLayers,
    blockTypes: c.blockTypes,
    window: c.window,
    convWidth: c.convWidth,
    logitsSoftCap: c.logitsSoftCap,
    rmsNormEps: c.rmsNormEps,
    embedScale: c.embedScale,
    ropeTheta: c.ropeTheta,
    ropeDims: c.ropeDims,
  };
}

/** SHA-256 of the architecture fields of a config. */
export function fingerprintConfig(c: ModelConfig): string {
  return createHash('sha256').update(JSON.stringify(configIdentity(c))).digest('hex');
}

/**
 * SHA-256 over the tensor table (sorted by name) and up to WEIGHT_SAMPLE_BYTES from each end of
 * every tensor's data. Reads a few KB in total, whatever the checkpoint size.
 */
export function fingerprintWeights(files: readonly string[], tensors: readonly TensorSource[]): string {
  const hash = createHash('sha256');
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const fds = new Map<number, number>();
  const sample = Buffer.alloc(2 * WEIGHT_SAMPLE_BYTES);
  try {
    for (const t of sorted) {
      hash.update(`${t.name}\0${t.dtype}\0${t.shape.join('x')}\0${t.nbytes}\0`);
      const file = files[t.file];
      if (file === undefined) throw new CheckpointError(`tensor ${t.name} refers to file #${t.file}, which does not exist`, 'ERR_RG_TENSOR_MISMATCH', { tensor: t.name });
      let fd = fds.get(t.file);
      if (fd === undefined) {
        fd = fs.openSync(file, 'r');
        fds.set(t.file, fd);
      }
      const head = Math.min(WEIGHT_SAMPLE_BYTES, t.nbytes);
      const tail = Math.min(WEIGHT_SAMPLE_BYTES, t.nbytes - head);
      const got = fs.readSync(fd, sample, 0, head, t.offset) + (tail > 0 ? fs.readSync(fd, sample, head, tail, t.offset + t.nbytes - tail) : 0);
      if (got !== head + tail) throw new CheckpointError(`${file}: tensor ${t.name} is cut short (file truncated?)`, 'ERR_RG_SIZE_MISMATCH', { file, tensor: t.name });
      hash.update(sample.subarray(0, got));
    }
  } finally {
    for (const fd of fds.values()) fs.closeSync(fd);
  }
  return hash.digest('hex');
}

/**
 * Both digests of a validated checkpoint. `quantizedAtLoad` names a load-time conversion of the
 * weights (e.g. 'int8'): the same file then computes different numbers, so it is another identity.
 */
export function fingerprintCheckpoint(checkpoint: { config: ModelConfig; files: readonly string[]; tensors: readonly TensorSource[] }, quantizedAtLoad?: string): ModelFingerprint {
  let weights = fingerprintWeights(checkpoint.files, checkpoint.tensors);
  if (quantizedAtLoad !== undefined) weights = createHash('sha256').update(`${weights}\0quantized-at-load:${quantizedAtLoad}`).digest('hex');
  return { config: fingerprintConfig(checkpoint.config), weights };
}
