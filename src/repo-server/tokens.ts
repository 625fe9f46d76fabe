/**
 * The repository server's tokens, one per host, in `<state>/tokens.json`
 * (mode 0600). Only the SHA-256 of each token is stored: a token is 32 random
 * bytes, so a plain hash cannot be reversed by guessing, and whoever reads the
 * file learns no usable token. The token itself is shown once, by `token add`.
 *
 * The server re-reads the file when its modification time changes, so tokens
 * added or removed while it runs take effect at the next request.
 *
 * @module
 */

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { writeFileAtomicSync } from './atomic-file.js';

export const ROLES = ['admin', 'append'] as const;
export type Role = (typeof ROLES)[number];

export interface TokenEntry {
  name: string;
  role: Role;
  /** Most bytes this token may store (cumulative); absent = unlimited. */
  quotaBytes?: number;
  /** Hex SHA-256 of the token. */
  hash: string;
  created: string;
}

const fileSchema = z.object({
  version: z.literal(1),
  tokens: z.array(
    z.object({
      name: z.string(),
      role: z.enum(ROLES),
      quotaBytes: z.number().int().nonnegative().optional(),
      hash: z.string().regex(/^[0-9a-f]{64}$/),
      created: z.string(),
    }),
  ),
});

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

export function tokensFile(stateDir: string): string {
  return path.join(stateDir, 'tokens.json');
}

export class TokenStore {
  private entries: TokenEntry[] = [];
  private loadedVersion = '';

  constructor(readonly file: string) {}

  /** The tokens as stored now (re-read when the file changed). */
  list(): TokenEntry[] {
    let version: string;
    try {
      // Every save renames a new file into place: a new inode, whatever the clock's resolution.
      const st = statSync(this.file);
      version = `${st.ino}:${st.mtimeMs}:${st.size}`;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.entries = [];
      this.loadedVersion = '';
      return [];
    }
    if (version !== this.loadedVersion) {
      const parsed = fileSchema.safeParse(JSON.parse(readFileSync(this.file, 'utf8')));
      if (!parsed.success)
        throw new LifeboatError(ErrorCode.Config, `${this.file} is not a repository-server token file`, {
          hint: 'restore it from a backup, or remove it and add the tokens again',
        });
      this.entries = parsed.data.tokens;
      this.loadedVersion = version;
    }
    return this.entries;
  }

  /** The entry whose token this is, compared in constant time per entry. */
  verify(token: string | undefined): TokenEntry | undefined {
    if (!token) return undefined;
    const digest = Buffer.from(hashOf(token), 'hex');
    let found: TokenEntry | undefined;
    for (const e of this.list()) if (timingSafeEqual(digest, Buffer.from(e.hash, 'hex'))) found = e;
    return found;
  }

  /** Creates a token; returns it (the only time it exists in clear). */
  add(name: string, role: Role, quotaBytes?: number): { token: string; entry: TokenEntry } {
    if (!TOKEN_NAME.test(name))
      throw new LifeboatError(ErrorCode.Usage, `invalid token name ${JSON.stringify(name)}`, {
        hint: 'use letters, digits, ".", "_" and "-" (e.g. the host name), at most 64 characters',
      });
    const entries = this.list();
    if (entries.some((e) => e.name === name))
      throw new LifeboatError(ErrorCode.Usage, `a token named ${name} exists already`, {
        hint: `remove it first with \`lifeboat serve-repository token remove ${name}\``,
      });
    const token = `lbs_${randomBytes(32).toString('base64url')}`;
    const entry: TokenEntry = {
      name,
      role,
      ...(quotaBytes !== undefined ? { quotaBytes } : {}),
      hash: hashOf(token),
      created: new Date().toISOString(),
    };
    this.save([...entries, entry]);
    return { token, entry };
  }

  remove(name: string): void {
    const entries = this.list();
    if (!entries.some((e) => e.name === name))
      throw new LifeboatError(ErrorCode.NotFound, `no token named ${name}`, {
        hint: 'see `lifeboat serve-repository token list`',
      });
    this.save(entries.filter((e) => e.name !== name));
  }

  private save(tokens: TokenEntry[]): void {
    writeFileAtomicSync(this.file, `${JSON.stringify({ version: 1, tokens }, null, 2)}\n`);
    this.loadedVersion = '';
  }
}
