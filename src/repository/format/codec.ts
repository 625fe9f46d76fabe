/**
 * Compression of blob contents. The codec is recorded per blob as the first
 * plaintext byte, so a repository can mix codecs and incompressible data is
 * simply stored raw.
 *
 * @module
 */

import zstd from 'zstd-napi/binding.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';

export const Codec = { Raw: 0, Zstd: 1 } as const;
export type Codec = (typeof Codec)[keyof typeof Codec];

export interface Compressed {
  codec: Codec;
  payload: Buffer;
}

/**
 * One compressor per thread; zstd contexts are reusable and not thread-safe.
 * The low-level contexts write into buffers this object keeps, so compressing
 * and verifying a blob allocate nothing: a compressed payload is a view that
 * stays valid only until the next `compress` call on the same compressor.
 */
export class BlobCompressor {
  private readonly cctx = new zstd.CCtx();
  private readonly dctx = new zstd.DCtx();
  private out = Buffer.alloc(0);
  private check = Buffer.alloc(0);

  constructor(level: number) {
    this.cctx.setParameter(zstd.CParameter.compressionLevel, level);
  }

  /**
   * Compress, or keep raw when compression would not save at least 1/64 of the
   * size. A compressed payload is valid until the next call (see the class).
   */
  compress(data: Buffer): Compressed {
    if (data.length < 64) return { codec: Codec.Raw, payload: data };
    // Output larger than the raw-fallback bound is useless: zstd stops with "dst too small".
    const limit = data.length - (data.length >>> 6);
    if (this.out.length < limit) this.out = Buffer.allocUnsafeSlow(Math.max(limit, 64 * 1024));
    let n: number;
    try {
      n = this.cctx.compress2(this.out.subarray(0, limit), data);
    } catch {
      return { codec: Codec.Raw, payload: data };
    }
    if (n >= limit) return { codec: Codec.Raw, payload: data };
    return { codec: Codec.Zstd, payload: this.out.subarray(0, n) };
  }

  /** Whether `compressed` decodes to exactly `data` (decoded into a buffer this compressor keeps). */
  decodesTo(compressed: Compressed, data: Buffer): boolean {
    if (compressed.codec === Codec.Raw) return compressed.payload.equals(data);
    if (compressed.codec !== Codec.Zstd) return false;
    if (this.check.length < data.length) this.check = Buffer.allocUnsafeSlow(Math.max(data.length, 64 * 1024));
    let n: number;
    try {
      // Exactly data.length of room: longer output fails as "destination too small".
      n = this.dctx.decompress(this.check.subarray(0, data.length), compressed.payload);
    } catch {
      return false;
    }
    return n === data.length && this.check.subarray(0, n).equals(data);
  }

  /**
   * Inverse of `compress`. `rawLength` bounds the output (no decompression
   * bombs). With `transient` the output may be a view into a buffer this
   * compressor reuses, valid until its next call (for data written out at once).
   */
  decompress(codec: number, payload: Buffer, rawLength: number, transient = false): Buffer {
    if (codec === Codec.Raw) {
      if (payload.length !== rawLength) throw lengthMismatch(payload.length, rawLength);
      return payload;
    }
    if (codec !== Codec.Zstd) {
      throw new LifeboatError(ErrorCode.Corrupt, `blob uses unknown compression codec ${codec}`);
    }
    if (transient && this.check.length < rawLength) this.check = Buffer.allocUnsafeSlow(Math.max(rawLength, 64 * 1024));
    // Exactly rawLength of room: a frame that would decode to more fails instead of allocating.
    const out = transient ? this.check.subarray(0, rawLength) : Buffer.allocUnsafe(rawLength);
    let n: number;
    try {
      n = this.dctx.decompress(out, payload);
    } catch (cause) {
      throw new LifeboatError(ErrorCode.Corrupt, 'blob failed to decompress', { cause });
    }
    if (n !== rawLength) throw lengthMismatch(n, rawLength);
    return out;
  }
}

function lengthMismatch(actual: number, expected: number): LifeboatError {
  return new LifeboatError(ErrorCode.Corrupt, `blob decompressed to ${actual} bytes, expected ${expected}`);
}
