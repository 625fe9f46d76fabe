import zstd from 'zstd-napi';
import { ErrorCode, LifeboatError } from '../errors/index.js';

/**
 * Compression of blob contents. The codec is recorded per blob as the first
 * plaintext byte, so a repository can mix codecs and incompressible data is
 * simply stored raw.
 */
export const Codec = { Raw: 0, Zstd: 1 } as const;
export type Codec = (typeof Codec)[keyof typeof Codec];

export interface Compressed {
  codec: Codec;
  payload: Buffer;
}

/** One compressor per thread; zstd contexts are reusable and not thread-safe. */
export class BlobCompressor {
  private readonly compressor = new zstd.Compressor();
  private readonly decompressor = new zstd.Decompressor();

  constructor(level: number) {
    this.compressor.setParameters({ compressionLevel: level });
  }

  /** Compress, or keep raw when compression would not save at least 1/64 of the size. */
  compress(data: Buffer): Compressed {
    if (data.length < 64) return { codec: Codec.Raw, payload: data };
    const packed = this.compressor.compress(data);
    if (packed.length >= data.length - (data.length >>> 6)) return { codec: Codec.Raw, payload: data };
    return { codec: Codec.Zstd, payload: packed };
  }

  /** Inverse of `compress`. `rawLength` bounds the output (no decompression bombs). */
  decompress(codec: number, payload: Buffer, rawLength: number): Buffer {
    if (codec === Codec.Raw) {
      if (payload.length !== rawLength) throw lengthMismatch(payload.length, rawLength);
      return payload;
    }
    if (codec !== Codec.Zstd) {
      throw new LifeboatError(ErrorCode.Corrupt, `blob uses unknown compression codec ${codec}`);
    }
    let out: Buffer;
    try {
      out = this.decompressor.decompress(payload);
    } catch (cause) {
      throw new LifeboatError(ErrorCode.Corrupt, 'blob failed to decompress', { cause });
    }
    if (out.length !== rawLength) throw lengthMismatch(out.length, rawLength);
    return out;
  }
}

function lengthMismatch(actual: number, expected: number): LifeboatError {
  return new LifeboatError(ErrorCode.Corrupt, `blob decompressed to ${actual} bytes, expected ${expected}`);
}
