import { createHash, randomBytes } from 'node:crypto';

/** A 32-byte identifier (blob id, object name, snapshot id) and its hex form. */
export const ID_BYTES = 32;

export function sha256(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function randomId(): string {
  return randomBytes(ID_BYTES).toString('hex');
}

/** The object name of a pack: packs are fanned out over 256 directories. */
export function packObjectName(packId: string): string {
  return `data/${packId.slice(0, 2)}/${packId}`;
}
