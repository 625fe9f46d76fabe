/**
 * Content-defined chunking (FastCDC with normalised chunking).
 *
 * A 32-bit gear hash rolls over the data; a cut is made where the hash's top
 * bits are zero. Between `min` and `avg` a stricter mask is used, after `avg`
 * a looser one, which narrows the spread of chunk sizes around `avg`. The gear
 * table is derived from the repository's chunker key, so chunk boundaries — and
 * with them chunk sizes — do not leak content to someone without the key.
 *
 * The scan runs in WebAssembly (gear-wasm.ts). Data in a buffer from
 * `Chunker.window` is scanned where it lies; any other buffer is copied into
 * the chunker's own scratch memory first (at most `max - min` bytes per cut).
 * `cutReference` is the same scan in JavaScript, kept as the specification
 * that the tests hold the WebAssembly scan to.
 *
 * @module
 */

import { createCipheriv } from 'node:crypto';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { GEAR_BYTES, GearKernel } from './gear-wasm.js';

export interface ChunkerParams {
  min: number;
  avg: number;
  max: number;
}

/** Chosen by measurement (docs/performance.md): 256 KiB average adds the fewest bytes after a 1% change. */
export const DEFAULT_CHUNKER: ChunkerParams = { min: 64 * 1024, avg: 256 * 1024, max: 1024 * 1024 };

export function validateChunkerParams(p: ChunkerParams): void {
  const pow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
  if (!pow2(p.avg) || p.avg < 1024 || p.avg > 64 * 1024 * 1024) {
    throw new LifeboatError(
      ErrorCode.Usage,
      `chunk average size must be a power of two between 1 KiB and 64 MiB, got ${p.avg}`,
    );
  }
  if (!(Number.isInteger(p.min) && p.min >= 64 && p.min < p.avg && Number.isInteger(p.max) && p.max > p.avg)) {
    throw new LifeboatError(
      ErrorCode.Usage,
      `chunk sizes must satisfy 64 <= min < avg < max, got ${p.min}/${p.avg}/${p.max}`,
    );
  }
}

/**
 * 256 pseudo-random 32-bit words from the key (AES-256-CTR keystream), held as
 * signed int32 so the hot loop stays in small-integer arithmetic.
 */
export function gearTable(chunkerKey: Uint8Array): Int32Array {
  const cipher = createCipheriv('aes-256-ctr', chunkerKey, Buffer.alloc(16));
  const bytes = cipher.update(Buffer.alloc(256 * 4));
  const table = new Int32Array(256);
  for (let i = 0; i < 256; i++) table[i] = bytes.readInt32LE(i * 4);
  return table;
}

function topBitsMask(bits: number): number {
  return bits >= 32 ? -1 : (0xffffffff << (32 - bits)) | 0;
}

/** Windows handed out by `Chunker.window`, by their memory. */
const windows = new WeakMap<ArrayBufferLike, GearKernel>();

export class Chunker {
  readonly params: ChunkerParams;
  private readonly gear: Int32Array;
  private readonly maskS: number;
  private readonly maskL: number;
  private scratch: { kernel: GearKernel; data: Buffer } | undefined;

  constructor(params: ChunkerParams, gear: Int32Array) {
    validateChunkerParams(params);
    this.params = params;
    this.gear = gear;
    const bits = Math.round(Math.log2(params.avg));
    this.maskS = topBitsMask(bits + 2);
    this.maskL = topBitsMask(bits - 2);
  }

  /**
   * A buffer of `size` bytes in memory of its own that `cut` scans without
   * copying (for a long-lived reading window: each one reserves a WebAssembly memory).
   */
  window(size: number): Buffer {
    const kernel = new GearKernel(this.gear, size);
    windows.set(kernel.memory.buffer, kernel);
    return kernel.data(size);
  }

  /**
   * Length of the next chunk starting at `start` in `buf[start, end)`. The
   * caller must offer at least `max` bytes unless the input has ended
   * (`final`); with fewer bytes and `final` false the result is -1 (need more).
   */
  cut(buf: Uint8Array, start: number, end: number, final: boolean): number {
    const n = end - start;
    const { min, avg, max } = this.params;
    if (n <= min) return final ? n : -1;
    const limit = n < max ? n : max;
    const normal = n < avg ? n : avg;
    let kernel = windows.get(buf.buffer);
    let base: number;
    if (kernel) {
      base = buf.byteOffset + start;
    } else {
      // Copy the bytes that are scanned (from min to limit) to the scratch memory.
      if (!this.scratch) {
        const k = new GearKernel(this.gear, max - min);
        this.scratch = { kernel: k, data: k.data(max - min) };
      }
      kernel = this.scratch.kernel;
      this.scratch.data.set(buf.subarray(start + min, start + limit));
      base = GEAR_BYTES - min;
    }
    const at = kernel.cut(base + min, base + normal, base + limit, this.maskS, this.maskL);
    if (at !== 0) return at - base;
    if (n < max && !final) return -1;
    return limit;
  }
}

/** The scan of `Chunker.cut` in JavaScript: the specification of the WebAssembly scan. */
export function cutReference(
  params: ChunkerParams,
  gear: Int32Array,
  buf: Uint8Array,
  start: number,
  end: number,
  final: boolean,
): number {
  const n = end - start;
  const { min, avg, max } = params;
  if (n <= min) return final ? n : -1;
  const limit = n < max ? n : max;
  const normal = n < avg ? n : avg;
  const bits = Math.round(Math.log2(avg));
  const maskS = topBitsMask(bits + 2);
  const maskL = topBitsMask(bits - 2);
  let h = 0;
  let i = start + min;
  const normalEnd = start + normal;
  const limitEnd = start + limit;
  for (; i < normalEnd; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & maskS) === 0) return i + 1 - start;
  }
  for (; i < limitEnd; i++) {
    h = ((h << 1) + gear[buf[i]!]!) | 0;
    if ((h & maskL) === 0) return i + 1 - start;
  }
  if (n < max && !final) return -1;
  return limit;
}
