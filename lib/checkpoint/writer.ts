import * as fs from 'fs';

import { InvalidArgumentError } from '../errors';
import { DTYPE_SIZE, type DType } from './safetensors';

/** A tensor to be written: its bytes arrive later, in order, through SafetensorsWriter.write(). */
export interface TensorPlan {
  name: string;
  dtype: DType;
  shape: number[];
}

function byteSize(t: TensorPlan): number {
  let n = DTYPE_SIZE[t.dtype];
  for (const d of t.shape) n *= d;
  return n;
}

/**
 * Streams a safetensors file to disk: the header (every tensor's offsets) is written first from
 * the plan, then each tensor's bytes in plan order, in as many chunks as the caller likes, so a
 * multi-gigabyte file never sits in memory. Wider dtypes are laid out first so every tensor starts
 * at a multiple of its element size.
 */
export class SafetensorsWriter {
  readonly order: TensorPlan[];
  private fd: number;
  private current = 0;
  private writtenInCurrent = 0;
  private readonly sizes: number[];

  /**
   * With `keepOrder` the plan's order is kept (the caller then keeps every tensor aligned);
   * otherwise tensors are sorted by element size, widest first.
   */
  constructor(readonly path: string, plan: TensorPlan[], metadata: Record<string, string> = {}, keepOrder = false) {
    this.order = keepOrder ? [...plan] : [...plan].sort((a, b) => DTYPE_SIZE[b.dtype] - DTYPE_SIZE[a.dtype]);
    this.sizes = this.order.map(byteSize);
    const header: Record<string, unknown> = {};
    if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
    let offset = 0;
    this.order.forEach((t, i) => {
      header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + this.sizes[i]!] };
      offset += this.sizes[i]!;
    });
    let json = JSON.stringify(header);
    // Pad with spaces so the data section starts 8-byte aligned (as the reference writer does).
    json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
    const head = Buffer.alloc(8);
    head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
    this.fd = fs.openSync(path, 'w');
    fs.writeSync(this.fd, head);
    fs.writeSync(this.fd, json);
    this.skipEmpty();
  }

  private skipEmpty(): void {
    while (this.current < this.order.length && this.sizes[this.current] === 0) this.current++;
  }

  /** The tensor the next write() belongs to (undefined when all are complete). */
  get next(): TensorPlan | undefined {
    return this.order[this.current];
  }

  /** Appends bytes of the current tensor `name`; moves to the next tensor when it is complete. */
  write(name: string, bytes: ArrayBufferView): void {
    const t = this.order[this.current];
    if (!t || t.name !== name) throw new InvalidArgumentError(`safetensors writer expected ${t ? t.name : 'no more tensors'}, got ${name}`);
    const size = this.sizes[this.current]!;
    if (this.writtenInCurrent + bytes.byteLength > size)
      throw new InvalidArgumentError(`tensor ${name}: ${this.writtenInCurrent + bytes.byteLength} bytes written, more than its ${size}`);
    const u8 = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let done = 0;
    while (done < u8.byteLength) done += fs.writeSync(this.fd, u8, done, u8.byteLength - done);
    this.writtenInCurrent += bytes.byteLength;
    if (this.writtenInCurrent === size) {
      this.current++;
      this.writtenInCurrent = 0;
      this.skipEmpty();
    }
  }

  /** Closes the file; throws if a tensor is incomplete. */
  close(): void {
    const incomplete = this.order[this.current];
    fs.closeSync(this.fd);
    if (incomplete) throw new InvalidArgumentError(`safetensors writer closed before tensor ${incomplete.name} was complete`);
  }
}
