import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarPeek } from './tar-peek.js';
import { formatLsn, parseLsn, parseSegmentName, segmentName, segmentOf } from './wal-names.js';

async function* pieces(buf: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('TarPeek', () => {
  it('passes a tar through unchanged and keeps the named members, however the stream is cut', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tar-peek-'));
    try {
      mkdirSync(path.join(dir, 'base', 'global'), { recursive: true });
      writeFileSync(path.join(dir, 'base', 'global', 'pg_control'), Buffer.alloc(8192, 7));
      writeFileSync(
        path.join(dir, 'base', 'backup_label'),
        'START WAL LOCATION: 0/2000028 (file 000000010000000000000002)\n',
      );
      writeFileSync(path.join(dir, 'base', 'backup_manifest'), '{"WAL-Ranges": []}'.padEnd(1500, ' '));
      const tar = spawnSync('tar', [
        '-c',
        '-f',
        '-',
        '--format=ustar',
        '-C',
        path.join(dir, 'base'),
        'global',
        'backup_label',
        'backup_manifest',
      ]).stdout;
      for (const size of [1, 511, 512, 513, 4096, tar.length]) {
        const peek = new TarPeek(new Set(['backup_label', 'backup_manifest']));
        const out: Buffer[] = [];
        for await (const c of peek.through(pieces(tar, size))) out.push(c);
        expect(Buffer.concat(out).equals(tar)).toBe(true);
        expect(peek.ended).toBe(true);
        expect(peek.members.get('backup_label')!.toString()).toMatch(/^START WAL LOCATION: 0\/2000028/);
        expect(peek.members.get('backup_manifest')!.length).toBe(1500);
      }
      const cut = new TarPeek(new Set());
      for await (const c of cut.through(pieces(tar.subarray(0, 2048), 100))) void c;
      expect(cut.ended).toBe(false);
      // A header whose checksum does not match: the rest cannot be followed, so the tar is not known to be complete.
      const damaged = Buffer.from(tar);
      damaged[0]! ^= 0xff;
      const lost = new TarPeek(new Set(['backup_label']));
      const passed: Buffer[] = [];
      for await (const c of lost.through(pieces(damaged, 4096))) passed.push(c);
      expect(Buffer.concat(passed).equals(damaged)).toBe(true);
      expect(lost.ended).toBe(false);
      expect(lost.members.size).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('WAL names', () => {
  it('maps LSNs to segment names and back', () => {
    const seg = 16 * 1024 * 1024;
    expect(formatLsn(parseLsn('16/B374D848'))).toBe('16/B374D848');
    const segno = segmentOf(parseLsn('16/B374D848'), seg);
    expect(segmentName(1, segno, seg)).toBe('0000000100000016000000B3');
    expect(parseSegmentName('0000000100000016000000B3', seg)).toEqual({ timeline: 1, segno });
    expect(parseSegmentName('00000002.history', seg)).toBeUndefined();
    expect(() => parseLsn('nope')).toThrow(/not an LSN/);
  });
});
