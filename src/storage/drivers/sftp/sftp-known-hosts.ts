/**
 * OpenSSH known_hosts: parsing, matching (plain, wildcard, negated, hashed
 * `|1|salt|hash` and `[host]:port` entries) and appending a new hashed entry.
 * `@cert-authority` lines are not supported and ignored; `@revoked` keys are refused.
 *
 * @module
 */

import { createHash, createHmac, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DEFAULT_SFTP_PORT } from './sftp-url.js';
import { makeDirectories } from '../../../util/make-dirs.js';

export interface KnownHostEntry {
  marker?: 'revoked' | 'cert-authority';
  /** The comma-separated host patterns, or one hashed `|1|salt|hash` pattern. */
  patterns: string;
  keyType: string;
  key: Buffer;
  line: number;
}

export type HostKeyVerdict =
  | { kind: 'known'; line: number }
  | { kind: 'unknown' }
  | { kind: 'changed'; lines: number[]; knownTypes: string[] }
  | { kind: 'revoked'; line: number };

/** The name a host is recorded under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const h = host.toLowerCase();
  return port === DEFAULT_SFTP_PORT ? h : `[${h}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority')
      marker = fields.shift()!.slice(1) as KnownHostEntry['marker'];
    const [patterns, keyType, keyB64] = fields;
    if (!patterns || !keyType || !keyB64) return;
    const key = Buffer.from(keyB64, 'base64');
    if (key.length === 0) return;
    entries.push({ marker, patterns, keyType, key, line: i + 1 });
  });
  return entries;
}

function wildcardMatch(pattern: string, name: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${re}$`, 'i').test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  const [, magic, salt, hash] = pattern.split('|');
  if (magic !== '1' || !salt || !hash) return false;
  return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
}

/** Whether an entry's host patterns match `name` (as made by knownHostName). */
export function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false;
    } else if (wildcardMatch(p, name)) {
      matched = true;
    }
  }
  return matched;
}

/** The key type inside an SSH public key blob (its first string). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's SHA256 fingerprint of a key blob. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

export function checkHostKey(entries: KnownHostEntry[], host: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = knownHostName(host, port);
  const mine = entries.filter((e) => e.marker !== 'cert-authority' && hostMatches(e.patterns, name));
  const same = (e: KnownHostEntry) => e.key.equals(blob);
  const revoked = entries.find((e) => e.marker === 'revoked' && same(e));
  if (revoked) return { kind: 'revoked', line: revoked.line };
  const known = mine.find((e) => !e.marker && same(e));
  if (known) return { kind: 'known', line: known.line };
  const others = mine.filter((e) => !e.marker);
  if (others.length === 0) return { kind: 'unknown' };
  // A host recorded under any key but this one counts as changed, also when the
  // types differ: the connection asks for the recorded types first (hostKeyAlgorithms),
  // so getting another type means the server no longer offers the recorded key.
  return { kind: 'changed', lines: others.map((e) => e.line), knownTypes: [...new Set(others.map((e) => e.keyType))] };
}

/** Host key algorithms that produce keys of `keyType`. */
function algorithmsOf(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

/**
 * The host key algorithms to offer, those of keys already recorded for the host
 * first (as OpenSSH does), so a host known by its ed25519 key is not asked for ECDSA.
 */
export function preferredHostKeyAlgorithms(
  entries: KnownHostEntry[],
  host: string,
  port: number,
  supported: readonly string[],
): string[] {
  const name = knownHostName(host, port);
  const recorded = entries
    .filter((e) => !e.marker && hostMatches(e.patterns, name))
    .flatMap((e) => algorithmsOf(e.keyType));
  const first = supported.filter((a) => recorded.includes(a));
  return [...first, ...supported.filter((a) => !first.includes(a))];
}

/** A hashed known_hosts line for `name` and key `blob`. */
export function hashedEntry(name: string, blob: Buffer): string {
  const salt = randomBytes(20);
  const hash = createHmac('sha1', salt).update(name).digest('base64');
  return `|1|${salt.toString('base64')}|${hash} ${keyTypeOf(blob)} ${blob.toString('base64')}`;
}

/** Reads a known_hosts file; a missing file has no entries. */
export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await fs.readFile(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** Appends a hashed entry, creating the file (0600) and its directory (0700) when missing. */
export async function appendKnownHost(file: string, host: string, port: number, blob: Buffer): Promise<void> {
  await makeDirectories(path.dirname(file), 0o700);
  let prefix = '';
  try {
    const current = await fs.readFile(file, 'utf8');
    if (current.length > 0 && !current.endsWith('\n')) prefix = '\n';
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  await fs.appendFile(file, `${prefix}${hashedEntry(knownHostName(host, port), blob)}\n`, { mode: 0o600 });
}
