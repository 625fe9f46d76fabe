/**
 * The printable recovery key: the 32-byte master secret plus a 4-byte checksum,
 * in Crockford base32 (no I, L, O, U; case and dashes ignored when read), in
 * groups of four. A typo fails the checksum instead of silently opening nothing.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { MASTER_SECRET_BYTES } from './crypto.js';
import { sha256 } from '../ids.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CHECKSUM_BYTES = 4;

function toBase32(data: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of data) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

function fromBase32(text: string, bytes: number): Buffer {
  const out = Buffer.alloc(bytes);
  let bits = 0;
  let value = 0;
  let n = 0;
  for (const ch of text) {
    const normal = ch.toUpperCase().replace('O', '0').replace(/[IL]/, '1');
    const digit = ALPHABET.indexOf(normal);
    if (digit < 0) throw badKey(`the character "${ch}" is not part of a recovery key`);
    value = ((value << 5) | digit) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      if (n >= bytes) throw badKey('the recovery key is too long');
      out[n++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  if (n !== bytes) throw badKey('the recovery key is too short');
  if ((value & ((1 << bits) - 1)) !== 0) throw badKey('the last character of the recovery key is wrong (a typo?)');
  return out;
}

function badKey(message: string): LifeboatError {
  return new LifeboatError(ErrorCode.WrongPassword, message, { hint: 'check the recovery key for typos' });
}

/** A short fingerprint of a repository's key, printed with the recovery key to tell repositories apart. */
export function fingerprint(master: Buffer): string {
  return sha256(Buffer.concat([Buffer.from('lifeboat fingerprint'), master]))
    .toString('hex')
    .slice(0, 16);
}

export function encodeRecoveryKey(master: Buffer): string {
  const payload = Buffer.concat([master, sha256(master).subarray(0, CHECKSUM_BYTES)]);
  const groups = toBase32(payload).match(/.{1,4}/g) ?? [];
  const lines: string[] = [];
  for (let i = 0; i < groups.length; i += 5) lines.push(groups.slice(i, i + 5).join('-'));
  return lines.join('\n');
}

export interface RecoveryKeyDocument {
  repositoryId: string;
  master: Buffer;
}

/** The whole printable page, as written by `key export`. */
export function renderRecoveryKey(repositoryId: string, master: Buffer): string {
  return [
    'LIFEBOAT RECOVERY KEY',
    `repository: ${repositoryId}`,
    `fingerprint: ${fingerprint(master)}`,
    '',
    'key:',
    encodeRecoveryKey(master),
    '',
    'Anyone holding this key can read every backup in the repository.',
    'Keep it offline (printed, in a safe). Use it with: lifeboat --key-file FILE …',
    '',
  ].join('\n');
}

/** Read either the whole page or just the key lines. */
export function parseRecoveryKey(text: string): RecoveryKeyDocument {
  const repo = /^repository:\s*([0-9a-f]+)\s*$/m.exec(text)?.[1] ?? '';
  const keyPart = text.includes('key:') ? (text.slice(text.indexOf('key:') + 4).split(/\n\s*\n/)[0] ?? '') : text;
  const compact = keyPart.replace(/[\s-]/g, '');
  const payloadBytes = MASTER_SECRET_BYTES + CHECKSUM_BYTES;
  const digits = Math.ceil((payloadBytes * 8) / 5);
  if (compact.length !== digits)
    throw badKey(`a recovery key has ${digits} characters, this one has ${compact.length}`);
  const payload = fromBase32(compact, payloadBytes);
  const master = payload.subarray(0, MASTER_SECRET_BYTES);
  if (!sha256(master).subarray(0, CHECKSUM_BYTES).equals(payload.subarray(MASTER_SECRET_BYTES))) {
    throw badKey('the recovery key checksum does not match (a typo?)');
  }
  return { repositoryId: repo, master: Buffer.from(master) };
}
