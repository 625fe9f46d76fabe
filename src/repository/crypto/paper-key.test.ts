import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { encodeRecoveryKey, fingerprint, parseRecoveryKey, renderRecoveryKey } from './paper-key.js';
import { expectThrowsCode } from '../testing/helpers.js';

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const secret = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a));
const repoId = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((a) => Buffer.from(a).toString('hex'));
const compactOf = (key: string) => key.replace(/[\s-]/g, '');
/** 36 payload bytes = 288 bits = 58 base32 digits. */
const DIGITS = 58;

describe('recovery keys (paper keys)', () => {
  it('encode → parse round-trips any 32-byte secret', () => {
    fc.assert(
      fc.property(secret, (master) => {
        const key = encodeRecoveryKey(master);
        const parsed = parseRecoveryKey(key);
        expect(parsed.master.equals(master)).toBe(true);
        expect(parsed.repositoryId).toBe('');
      }),
      { numRuns: 300 },
    );
  });

  it('is printed as Crockford base32 in dash-separated groups of four, five groups a line', () => {
    fc.assert(
      fc.property(secret, (master) => {
        const key = encodeRecoveryKey(master);
        const lines = key.split('\n');
        expect(lines).toHaveLength(3);
        for (const line of lines) expect(line).toMatch(/^[0-9A-HJKMNP-TV-Z]{1,4}(-[0-9A-HJKMNP-TV-Z]{1,4}){0,4}$/);
        expect(lines[0]!.split('-')).toHaveLength(5);
        const compact = compactOf(key);
        expect(compact).toHaveLength(DIGITS);
        for (const ch of compact) expect(ALPHABET).toContain(ch);
      }),
      { numRuns: 100 },
    );
  });

  it('render → parse round-trips the secret and the repository id', () => {
    fc.assert(
      fc.property(secret, repoId, (master, id) => {
        const page = renderRecoveryKey(id, master);
        expect(page).toContain(`repository: ${id}`);
        expect(page).toContain(`fingerprint: ${fingerprint(master)}`);
        const parsed = parseRecoveryKey(page);
        expect(parsed.master.equals(master)).toBe(true);
        expect(parsed.repositoryId).toBe(id);
        // The same page with Windows line endings.
        const crlf = parseRecoveryKey(page.replace(/\n/g, '\r\n'));
        expect(crlf.master.equals(master)).toBe(true);
        expect(crlf.repositoryId).toBe(id);
      }),
      { numRuns: 100 },
    );
  });

  it('accepts lower case and the O→0, I/L→1 misreadings', () => {
    fc.assert(
      fc.property(secret, fc.array(fc.nat(), { maxLength: 20 }), (master, positions) => {
        const key = encodeRecoveryKey(master);
        expect(parseRecoveryKey(key.toLowerCase()).master.equals(master)).toBe(true);
        const chars = [...key];
        const subs: Record<string, string[]> = { '0': ['O', 'o'], '1': ['I', 'i', 'L', 'l'] };
        for (const p of positions) {
          const i = p % chars.length;
          const options = subs[chars[i]!];
          if (options) chars[i] = options[p % options.length]!;
        }
        // Replace every 0 and 1 too, so the substitution is always exercised.
        const all = key.replace(/0/g, 'o').replace(/1/g, 'L');
        expect(parseRecoveryKey(chars.join('')).master.equals(master)).toBe(true);
        expect(parseRecoveryKey(all).master.equals(master)).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('substitutes more than the first O or I/L in a group', () => {
    // A secret whose key contains many 0 and 1 digits.
    const master = Buffer.alloc(32, 0);
    const key = encodeRecoveryKey(master);
    expect((key.match(/[01]/g) ?? []).length).toBeGreaterThan(10);
    expect(parseRecoveryKey(key.replace(/0/g, 'O').replace(/1/g, 'I')).master.equals(master)).toBe(true);
  });

  it('ignores whitespace and dashes anywhere', () => {
    fc.assert(
      fc.property(
        secret,
        fc.array(fc.tuple(fc.nat(), fc.constantFrom(' ', '-', '\t', '--', '  ', '\n')), { maxLength: 30 }),
        (master, inserts) => {
          const compact = compactOf(encodeRecoveryKey(master));
          expect(parseRecoveryKey(compact).master.equals(master)).toBe(true);
          let text = compact;
          for (const [pos, sep] of inserts) {
            const i = pos % (text.length + 1);
            text = text.slice(0, i) + sep + text.slice(i);
          }
          // A blank line would end the key block of a page; for bare keys it is just whitespace.
          expect(parseRecoveryKey(`  ${text}  \n`).master.equals(master)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a single changed character (to another valid digit) is caught by the checksum', () => {
    fc.assert(
      fc.property(secret, fc.nat(), fc.nat(), (master, posSeed, digitSeed) => {
        const compact = compactOf(encodeRecoveryKey(master));
        // The last digit carries 3 data bits and 2 padding bits; see the test below for it.
        const pos = posSeed % (DIGITS - 1);
        const others = ALPHABET.replace(compact[pos]!, '');
        const changed = compact.slice(0, pos) + others[digitSeed % others.length]! + compact.slice(pos + 1);
        expectThrowsCode(() => parseRecoveryKey(changed), ErrorCode.WrongPassword);
      }),
      { numRuns: 500 },
    );
  });

  it('a changed last character never opens a different secret', () => {
    fc.assert(
      fc.property(secret, (master) => {
        const compact = compactOf(encodeRecoveryKey(master));
        for (const d of ALPHABET) {
          if (d === compact[DIGITS - 1]) continue;
          let parsed;
          try {
            parsed = parseRecoveryKey(compact.slice(0, -1) + d);
          } catch (err) {
            expect((err as { code?: string }).code).toBe(ErrorCode.WrongPassword);
            continue;
          }
          // Only the two padding bits may differ: same secret.
          expect(parsed.master.equals(master)).toBe(true);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('exhaustively: every single-character change of one key is rejected (except padding-only changes of the last digit)', () => {
    const master = randomBytes(32);
    const compact = compactOf(encodeRecoveryKey(master));
    let accepted = 0;
    for (let pos = 0; pos < DIGITS; pos++) {
      for (const d of ALPHABET) {
        if (d === compact[pos]) continue;
        const changed = compact.slice(0, pos) + d + compact.slice(pos + 1);
        try {
          const p = parseRecoveryKey(changed);
          expect(pos).toBe(DIGITS - 1);
          expect(p.master.equals(master)).toBe(true);
          accepted++;
        } catch (err) {
          expect((err as { code?: string }).code).toBe(ErrorCode.WrongPassword);
        }
      }
    }
    expect(accepted).toBeLessThanOrEqual(3);
  });

  it('swapped adjacent characters are caught', () => {
    fc.assert(
      fc.property(secret, fc.nat(), (master, posSeed) => {
        const compact = compactOf(encodeRecoveryKey(master));
        const pos = posSeed % (DIGITS - 2);
        fc.pre(compact[pos] !== compact[pos + 1]);
        const swapped = compact.slice(0, pos) + compact[pos + 1] + compact[pos] + compact.slice(pos + 2);
        expectThrowsCode(() => parseRecoveryKey(swapped), ErrorCode.WrongPassword);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects keys of the wrong length, foreign characters and garbage with wrong_password', () => {
    const compact = compactOf(encodeRecoveryKey(randomBytes(32)));
    for (const bad of [
      '',
      'key:',
      compact.slice(1),
      `${compact}0`,
      `${compact.slice(0, -1)}U`,
      `${compact.slice(0, -1)}!`,
      `${compact.slice(0, -1)}é`,
      'x'.repeat(DIGITS),
      'LIFEBOAT RECOVERY KEY\nrepository: abc\n\nkey:\n\n' + compact,
    ]) {
      expectThrowsCode(() => parseRecoveryKey(bad), ErrorCode.WrongPassword);
    }
  });

  it('reads the key block of a page but not the text after a blank line', () => {
    const master = randomBytes(32);
    const page = renderRecoveryKey('ab'.repeat(32), master);
    expect(parseRecoveryKey(`${page}\n\nsome notes written later: 0123 4567\n`).master.equals(master)).toBe(true);
  });

  it('fingerprint is deterministic, 16 hex digits, and depends on the secret', () => {
    const a = randomBytes(32);
    expect(fingerprint(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(fingerprint(Buffer.from(a))).toBe(fingerprint(a));
    expect(fingerprint(randomBytes(32))).not.toBe(fingerprint(a));
    // It is not a prefix of the secret or of its plain SHA-256.
    expect(a.toString('hex').startsWith(fingerprint(a))).toBe(false);
  });
});
