/** Loads the compiled addon (a prebuild when one matches, else build/Release) and types it. */
import * as path from 'path';

import type { TensorSource } from './checkpoint/safetensors';
import { NativeAddonError } from './errors';

export interface NativeConfig {
  vocabSize: number;
  width: number;
  mlpWidth: number;
  lruWidth: number;
  numHeads: number;
  headDim: number;
  window: number;
  convWidth: number;
  logitsSoftCap: number;
  rmsNormEps: number;
  embedScale: number;
  ropeTheta: number;
  ropeDims: number;
  /** 0 = recurrent, 1 = attention, per layer. */
  blockTypes: number[];
}

export interface NativeSegment {
  state: NativeState;
  tokens: Int32Array;
  allLogits: boolean;
}

export interface NativeModel {
  forward(segments: NativeSegment[]): Promise<Float32Array[]>;
  info(): {
    simd: string;
    threads: number;
    mappedBytes: number;
    ownedBytes: number;
    streamBytes: number;
    hugePageBytes: number;
    weights: 'stored' | 'int8' | 'q4';
    precision: 'exact' | 'fast';
    streamPrefetchBytes: number;
    spinMicros: number;
    releasedBytes: number;
    amx: boolean;
  };
  dispose(): void;
}

export type NativeLayerState =
  | { kind: 'recurrent'; rgLruState: Float32Array; conv1dState: Float32Array }
  | { kind: 'attention'; keys: Float32Array; values: Float32Array };

export interface NativeState {
  readonly position: number;
  readonly byteLength: number;
  layers(): NativeLayerState[];
  copyFrom(other: NativeState): void;
  reset(): void;
  readData(): Float32Array;
  writeData(data: Float32Array, position: number): void;
  dispose(): void;
}

export type SimdLevel = 'scalar' | 'avx2' | 'avx512';

export interface NativeKernels {
  matmul(
    args: {
      x: Float32Array;
      T: number;
      weight: Float32Array | Uint16Array | Int8Array | Uint8Array;
      dtype: 'F32' | 'BF16' | 'F16' | 'Q8' | 'Q4';
      rows: number;
      cols: number;
      bias?: Float32Array;
      /** Q8 / Q4: one scale per 32 weights of a row, [rows, cols / 32]. */
      scales?: Float32Array;
      /** 'fast': bf16 / int8 activations (the level's matmul_fast). Default 'exact'. */
      precision?: 'exact' | 'fast';
    },
    level?: string,
  ): Float32Array;
  hasFastMatmul(level?: string): boolean;
  rmsnorm(args: { x: Float32Array; weight: Float32Array; eps: number }, level?: string): Float32Array;
  elementwise(args: { op: 'gelu' | 'geluMul' | 'softcap'; x: Float32Array; u?: Float32Array; cap?: number }, level?: string): Float32Array;
  conv1d(args: { x: Float32Array; T: number; L: number; weight: Float32Array; K: number; bias: Float32Array; state: Float32Array }, level?: string): { y: Float32Array; state: Float32Array };
  rglru(args: { x: Float32Array; gateX: Float32Array; gateA: Float32Array; negSoftplus8: Float32Array; T: number; L: number; position: number; h: Float32Array }, level?: string): { y: Float32Array; h: Float32Array };
  rope(args: { x: Float32Array; T: number; heads: number; headDim: number; rotaryDims: number; position: number; base: number }, level?: string): Float32Array;
  localAttention(args: { q: Float32Array; k: Float32Array; v: Float32Array; keyCache: Float32Array; valueCache: Float32Array; position: number; T: number; numHeads: number; headDim: number; window: number }, level?: string): Float32Array;
  levels(): SimdLevel[];
  /** Process-wide tuning of the streaming (decode) matmuls; results never depend on it. */
  setStreamTuning(tuning: { prefetchBytes?: number }): { prefetchBytes: number };
  streamTuning(): { prefetchBytes: number };
}

export interface CpuInfo {
  best: SimdLevel;
  selected: SimdLevel;
  selectionError?: string;
  physicalCores: number;
  features: Record<string, boolean>;
  /** CPUID vendor, e.g. 'GenuineIntel' / 'AuthenticAMD' ('' off x86). */
  vendor: string;
  /** CPUID brand string, e.g. 'AMD EPYC 9R14 96-Core Processor' ('' when unknown). */
  modelName: string;
  family: number;
  model: number;
  stepping: number;
  /** AMX as reported by CPUID, and whether the OS granted this process the tile state. */
  amx: { tile: boolean; bf16: boolean; int8: boolean; usable: boolean; reason?: string };
}

/** One kernel call at a fixed shape, for microbenchmarks (native/bench/kernel_case.h). */
export interface NativeKernelCase {
  run(): void;
  dispose(): void;
  readonly bytesPerRun: number;
  readonly flopsPerRun: number;
}

export interface KernelCaseSpec {
  kernel: 'matmul' | 'rglru' | 'attention';
  dtype?: 'F32' | 'BF16' | 'F16' | 'Q8' | 'Q4';
  rows?: number;
  cols?: number;
  T?: number;
  channels?: number;
  heads?: number;
  headDim?: number;
  window?: number;
  threads?: number;
  simd?: string;
  hugePages?: boolean;
  /** matmul: 'fast' runs the level's fast matmul (as a model loaded with precision 'fast'). */
  precision?: 'exact' | 'fast';
}

/** Machine-limit measurements (native/bench/machine_limits.h). Synchronous. */
export interface NativeBench {
  readBandwidth(bytes: number, threads: number, hugePages?: boolean): { gbPerSecond: number; hugePages: boolean; checksum: number };
  /** Operations per second; 0 when the CPU lacks the instruction. */
  computePeak(kind: 'fma32' | 'bf16' | 'int8' | 'amx-bf16' | 'amx-int8', threads: number, seconds?: number): number;
  /** Bytes of this process backed by transparent huge pages (-1 when unknown). */
  anonHugePageBytes(): number;
  KernelCase: new (spec: KernelCaseSpec) => NativeKernelCase;
}

export interface NativeAddon {
  NativeModel: new (
    config: NativeConfig,
    files: string[],
    tensors: TensorSource[],
    options: { threads?: number; simd?: string; weights?: string; hugePages?: boolean; precision?: 'exact' | 'fast'; spinMicros?: number },
  ) => NativeModel;
  bench: NativeBench;
  quantize(args: { data: Float32Array | Uint16Array; dtype: 'F32' | 'BF16' | 'F16'; rows: number; cols: number; format: 'int8' | 'q4' }): { data: Uint8Array; scales: Float32Array };
  NativeState: new (model: NativeModel) => NativeState;
  kernels: NativeKernels;
  cpuInfo(): CpuInfo;
  /** The native state layout for a config (native/model/state_layout.h), counts in float32 values. */
  stateLayout(config: NativeConfig): { kind: 'recurrent' | 'attention'; offset: number; floats: number }[];
  /** The tensors the native loader reads for a config (native/model/tensor_table.h), in checkpoint order. */
  expectedTensors(config: NativeConfig): { name: string; shape: number[] }[];
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const findAndLoad = require('node-gyp-build') as (dir: string) => unknown;

/** The package root (one level above dist/ or lib/). */
export const packageRoot = path.join(__dirname, '..');

/** What builds the addon from source, for the messages. */
const BUILD_NEEDS = 'needs Python 3, make and a C++17 compiler (g++ >= 9 or clang >= 10)';

/** One line saying why the addon did not load and what to run. */
function addonError(e: unknown, override: string | undefined): NativeAddonError {
  const reason = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.trim();
  if (override)
    return new NativeAddonError(`cannot load the native addon RECURRENTGEMMA_ADDON_PATH=${override} (${reason}): point it at a built .node file, or unset it`);
  if (/No native build was found/i.test(reason))
    return new NativeAddonError(
      `the native addon of recurrentgemma is not built for ${process.platform}-${process.arch} (no prebuild, no build/Release): run \`npm rebuild recurrentgemma\` to compile it (${BUILD_NEEDS}); if npm skipped the install script, run \`npm install-scripts approve recurrentgemma\` first; in a clone: \`npm run build:native\``,
    );
  return new NativeAddonError(
    `the native addon of recurrentgemma failed to load (${reason}): rebuild it with \`npm rebuild recurrentgemma --build-from-source\` (${BUILD_NEEDS})`,
  );
}

let loaded: NativeAddon | undefined;
let failure: NativeAddonError | undefined;

/**
 * Loads the addon on first use, not at import: the CLI's --help, validate, pull and the pure
 * TypeScript parts (tokenizer, config, state format) work without it, and a missing or broken
 * build becomes one NativeAddonError saying what to run instead of a stack trace at startup.
 * RECURRENTGEMMA_ADDON_PATH points at another build of the addon (a .node file), e.g. the
 * sanitizer build of scripts/sanitize.sh; unset, the normal prebuild/build lookup applies.
 */
export function loadAddon(): NativeAddon {
  if (loaded) return loaded;
  if (failure) throw failure;
  const override = process.env.RECURRENTGEMMA_ADDON_PATH;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = (override ? require(path.resolve(override)) : findAndLoad(packageRoot)) as NativeAddon;
  } catch (e) {
    failure = addonError(e, override);
    throw failure;
  }
  return loaded;
}

/** The addon, loaded on the first property access (see loadAddon). */
export const addon: NativeAddon = new Proxy({} as NativeAddon, {
  get: (_target, key) => Reflect.get(loadAddon(), key),
});
