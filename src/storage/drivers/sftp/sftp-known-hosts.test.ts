import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  checkHostKey,
  hashedEntry,
  hostMatches,
  knownHostName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
} from './sftp-known-hosts.js';

/** An SSH key blob: string type ‖ string data. */
function blob(type: string, data: string): Buffer {
  const t = Buffer.from(type);
  const d = Buffer.from(data);
  const len = (n: number) => Buffer.from([0, 0, n >> 8, n & 255]);
  return Buffer.concat([len(t.length), t, len(d.length), d]);
}
const A = blob('ssh-ed25519', 'key-a');
const B = blob('ssh-ed25519', 'key-b');
const R = blob('ssh-rsa', 'key-r');
const line = (hosts: string, key: Buffer) =>
  `${hosts} ${key.subarray(4, 4 + key.readUInt32BE(0)).toString()} ${key.toString('base64')}`;

describe('known_hosts matching', () => {
  it('names hosts as OpenSSH does', () => {
    expect(knownHostName('NAS.example.org', 22)).toBe('nas.example.org');
    expect(knownHostName('10.0.0.5', 2222)).toBe('[10.0.0.5]:2222');
  });

  it('matches lists, wildcards and negations', () => {
    expect(hostMatches('a.example.org,b.example.org', 'b.example.org')).toBe(true);
    expect(hostMatches('*.example.org', 'nas.example.org')).toBe(true);
    expect(hostMatches('nas?.example.org', 'nas1.example.org')).toBe(true);
    expect(hostMatches('*.example.org,!evil.example.org', 'evil.example.org')).toBe(false);
    expect(hostMatches('nas.example.org', 'nas.example.org.evil')).toBe(false);
    expect(hostMatches('[10.0.0.5]:2222', '[10.0.0.5]:2222')).toBe(true);
    expect(hostMatches('10.0.0.5', '[10.0.0.5]:2222')).toBe(false);
  });

  it('matches hashed entries (HMAC-SHA1 of the name under the salt)', () => {
    const salt = Buffer.from('0123456789abcdefghij');
    const hash = createHmac('sha1', salt).update('[h]:2200').digest('base64');
    expect(hostMatches(`|1|${salt.toString('base64')}|${hash}`, '[h]:2200')).toBe(true);
    expect(hostMatches(`|1|${salt.toString('base64')}|${hash}`, 'h')).toBe(false);
    const made = hashedEntry('h', A);
    expect(hostMatches(made.split(' ')[0]!, 'h')).toBe(true);
  });

  it('tells known, unknown, changed and revoked keys apart', () => {
    const entries = parseKnownHosts(
      [
        `# c`,
        '',
        line('h', A),
        line('other', B),
        `@revoked ${line('*', R)}`,
        '@cert-authority *.x ssh-ed25519 AAAA',
        'garbage',
      ].join('\n'),
    );
    expect(entries).toHaveLength(4);
    expect(checkHostKey(entries, 'h', 22, A)).toEqual({ kind: 'known', line: 3 });
    expect(checkHostKey(entries, 'new', 22, A)).toEqual({ kind: 'unknown' });
    expect(checkHostKey(entries, 'h', 22, B)).toEqual({ kind: 'changed', lines: [3], knownTypes: ['ssh-ed25519'] });
    expect(checkHostKey(entries, 'h', 2222, A)).toEqual({ kind: 'unknown' });
    expect(checkHostKey(entries, 'h', 22, R)).toEqual({ kind: 'revoked', line: 5 });
  });

  it('offers the recorded key types first', () => {
    const entries = parseKnownHosts(line('h', R));
    expect(
      preferredHostKeyAlgorithms(entries, 'h', 22, ['ssh-ed25519', 'rsa-sha2-512', 'ssh-rsa']).slice(0, 2),
    ).toEqual(['rsa-sha2-512', 'ssh-rsa']);
    expect(preferredHostKeyAlgorithms(entries, 'x', 22, ['ssh-ed25519', 'ssh-rsa'])).toEqual([
      'ssh-ed25519',
      'ssh-rsa',
    ]);
  });
});
