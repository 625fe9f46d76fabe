/**
 * CRC-64/Jones as Redis computes it for the RDB trailer: reflected polynomial
 * 0x95ac9329ac4bc9b5 (0xad93d23594c935a9 bit-reversed), initial value 0, no
 * final xor. The 64-bit register is kept as two 32-bit halves so the hot loop
 * stays in plain integer arithmetic instead of BigInt.
 *
 * @module
 */

const POLY_HI = 0x95ac9329;
const POLY_LO = 0xac4bc9b5;

const TABLE_HI = new Uint32Array(256);
const TABLE_LO = new Uint32Array(256);
for (let n = 0; n < 256; n++) {
  let hi = 0;
  let lo = n;
  for (let bit = 0; bit < 8; bit++) {
    const carry = lo & 1;
    lo = ((lo >>> 1) | ((hi & 1) << 31)) >>> 0;
    hi = hi >>> 1;
    if (carry) {
      hi = (hi ^ POLY_HI) >>> 0;
      lo = (lo ^ POLY_LO) >>> 0;
    }
  }
  TABLE_HI[n] = hi;
  TABLE_LO[n] = lo;
}

export class Crc64 {
  private hi = 0;
  private lo = 0;

  update(data: Uint8Array): this {
    let hi = this.hi;
    let lo = this.lo;
    for (let i = 0; i < data.length; i++) {
      const index = (lo ^ data[i]!) & 0xff;
      lo = ((lo >>> 8) | (hi << 24)) ^ TABLE_LO[index]!;
      hi = (hi >>> 8) ^ TABLE_HI[index]!;
    }
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }

  /** The checksum as 16 hex digits (big-endian reading of the value). */
  hex(): string {
    return this.hi.toString(16).padStart(8, '0') + this.lo.toString(16).padStart(8, '0');
  }
}

/** The RDB trailer stores the CRC little-endian; this is its value as 16 hex digits. */
export function trailerHex(trailer: Uint8Array): string {
  return Buffer.from(trailer).reverse().toString('hex');
}
