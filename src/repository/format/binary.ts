import { ErrorCode, LifeboatError } from '../../errors/index.js';

/** A bounds-checked reader for the repository's binary formats: never reads past the end. */
export class BinaryReader {
  private pos = 0;
  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) {
      throw new LifeboatError(ErrorCode.Corrupt, `${this.what} is truncated (needed ${n} bytes at offset ${this.pos})`);
    }
  }
  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new LifeboatError(ErrorCode.Corrupt, `${this.what} holds an impossible size`);
    return Number(v);
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** Fail unless a count of `each`-byte records fits in what is left (guards huge allocations). */
  checkCount(count: number, each: number): void {
    if (count * each > this.buf.length - this.pos) {
      throw new LifeboatError(ErrorCode.Corrupt, `${this.what} claims ${count} entries but is too short`);
    }
  }
  magic(expected: string): void {
    const got = this.bytes(expected.length).toString('latin1');
    if (got !== expected) throw new LifeboatError(ErrorCode.Corrupt, `${this.what} has a bad magic number`);
  }
  end(): void {
    if (this.pos !== this.buf.length) throw new LifeboatError(ErrorCode.Corrupt, `${this.what} has trailing bytes`);
  }
}

export class BinaryWriter {
  private readonly parts: Buffer[] = [];
  u8(v: number): this {
    this.parts.push(Buffer.from([v]));
    return this;
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(v);
    this.parts.push(b);
    return this;
  }
  u64(v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64LE(BigInt(v));
    this.parts.push(b);
    return this;
  }
  bytes(v: Uint8Array): this {
    this.parts.push(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
    return this;
  }
  magic(v: string): this {
    this.parts.push(Buffer.from(v, 'latin1'));
    return this;
  }
  finish(): Buffer {
    return Buffer.concat(this.parts);
  }
}
