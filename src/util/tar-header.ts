/**
 * Reading tar headers (POSIX ustar, with GNU long names and pax extended
 * headers): the name, size and type of a member from its 512-byte header.
 *
 * @module
 */

export const TAR_BLOCK = 512;

export interface TarHeader {
  /** The name as the header holds it (ustar prefix joined); long names come from the records before it. */
  name: string;
  size: number;
  /** The type flag: '0' (or '\0') regular file, '5' directory, 'x'/'g' pax, 'L'/'K' GNU long name… */
  type: string;
}

/** Bytes a member's data takes in the archive: its size rounded up to whole 512-byte blocks. */
export function paddedSize(size: number): number {
  return Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
}

export function isZeroBlock(h: Uint8Array): boolean {
  for (let i = 0; i < TAR_BLOCK; i++) if (h[i] !== 0) return false;
  return true;
}

/** The header, or undefined when its checksum does not match (not a tar header). */
export function readTarHeader(h: Uint8Array): TarHeader | undefined {
  const b = Buffer.from(h.buffer, h.byteOffset, TAR_BLOCK);
  const stored = parseInt(field(b, 148, 8).trim() || 'x', 8);
  let sum = 0;
  for (let i = 0; i < TAR_BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : b[i]!;
  if (stored !== sum) return undefined;
  const size = sizeOf(b);
  if (!Number.isSafeInteger(size) || size < 0) return undefined;
  return { name: nameOf(b), size, type: String.fromCharCode(b[156]!) };
}

/** Regular file types: only these carry file content. */
export function isRegularFile(type: string): boolean {
  return type === '0' || type === '\0' || type === '7';
}

/** The `path` (or `size`) record of a pax extended header's data ("<len> key=value\n" records). */
export function paxRecord(data: Buffer, key: string): string | undefined {
  let at = 0;
  let found: string | undefined;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const len = Number(data.subarray(at, space).toString('latin1'));
    if (!Number.isInteger(len) || len <= space - at) break;
    const record = data.subarray(space + 1, at + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq !== -1 && record.slice(0, eq) === key) found = record.slice(eq + 1);
    at += len;
  }
  return found;
}

/** A GNU long-name record's data: the name, up to its first NUL. */
export function longName(data: Buffer): string {
  const end = data.indexOf(0);
  return data.subarray(0, end === -1 ? data.length : end).toString('utf8');
}

function field(h: Buffer, start: number, length: number): string {
  const raw = h.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function nameOf(h: Buffer): string {
  const name = field(h, 0, 100);
  // Only POSIX ustar ("ustar\0") has a name prefix; GNU tar ("ustar  ") keeps other fields there.
  const prefix = field(h, 257, 6) === 'ustar' ? field(h, 345, 155) : '';
  return prefix ? `${prefix}/${name}` : name;
}

function sizeOf(h: Buffer): number {
  // Base-256 (high bit set) for members of 8 GiB and more, else octal.
  if (h[124]! & 0x80) {
    let n = 0;
    for (let i = 125; i < 136; i++) n = n * 256 + h[i]!;
    return n;
  }
  return parseInt(field(h, 124, 12).trim() || '0', 8);
}
