import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readCommittedFrames, readWalHeader, type ChainPoint } from './wal-file.js';

let dir: string;
let db: Database.Database;
let pin: Database.Database;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-walfile-'));
  const file = path.join(dir, 'app.db');
  db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (seq INTEGER PRIMARY KEY, payload BLOB)');
  // A reader keeps the log from being reset behind the test's back, as the replicator's pin does.
  pin = new Database(file);
});

afterEach(() => {
  pin.close();
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** One transaction per row; each row is a page of its own, so every commit adds frames. */
function commit(from: number, count: number): void {
  const stmt = db.prepare('INSERT INTO t (seq, payload) VALUES (?, ?)');
  for (let i = from; i < from + count; i++) stmt.run(i, Buffer.alloc(3000, i % 251));
}

async function readFrom(from: ChainPoint | undefined) {
  const fd = await open(path.join(dir, 'app.db-wal'), 'r');
  try {
    const header = (await readWalHeader(fd))!;
    const got = await readCommittedFrames(fd, header, from ?? { frame: 0, checksum: header.checksum });
    return { header, got, size: (await fd.stat()).size };
  } finally {
    await fd.close();
  }
}

describe('readCommittedFrames', () => {
  it('returns every committed frame of a log larger than one read chunk, in order, from any point', async () => {
    commit(1, 600); // several read chunks of frames at 4 KiB pages
    const all = await readFrom(undefined);
    expect(all.got.commits).toHaveLength(601); // the CREATE TABLE, then one per row
    const frames = all.got.frames.length;
    expect(frames * (24 + all.header.pageSize)).toBeGreaterThan(2 * 1024 * 1024);
    expect(all.got.end.frame).toBe(frames);
    for (const f of all.got.frames) expect(f.length).toBe(24 + all.header.pageSize);
    // Continuing from a commit in the middle yields the rest, ending at the same point.
    const mid = all.got.commits[300]!.frame;
    const rest = await readFrom({ frame: mid, checksum: await chainAt(mid) });
    expect(rest.got.commits).toHaveLength(300);
    expect(rest.got.end).toEqual(all.got.end);
    expect(Buffer.concat(rest.got.frames).equals(Buffer.concat(all.got.frames.slice(mid)))).toBe(true);
  });

  it('stops at the stale frames of the previous round after the log restarted', async () => {
    commit(1, 600);
    const before = await readFrom(undefined);
    // Checkpoint everything, then the next write restarts the log from its start; the file keeps its size.
    pin.close();
    db.pragma('wal_checkpoint(PASSIVE)');
    pin = new Database(path.join(dir, 'app.db'));
    commit(601, 5);
    const after = await readFrom(undefined);
    expect(after.size).toBe(before.size);
    expect(after.header.salt1).not.toBe(before.header.salt1);
    expect(after.got.commits).toHaveLength(5);
    expect(after.got.end.frame).toBe(after.got.frames.length);
    expect(after.got.frames.length).toBeLessThan(before.got.frames.length);
  });
});

/** The chain value after frame `frame`: read the log up to there through a cut copy of the file. */
async function chainAt(frame: number): Promise<[number, number]> {
  const fd = await open(path.join(dir, 'app.db-wal'), 'r');
  try {
    const header = (await readWalHeader(fd))!;
    const cut = path.join(dir, 'cut-wal');
    const bytes = 32 + frame * (24 + header.pageSize);
    const buf = Buffer.alloc(bytes);
    await fd.read(buf, 0, bytes, 0);
    const out = await open(cut, 'w+');
    try {
      await out.write(buf, 0, bytes, 0);
      const got = await readCommittedFrames(out, header, { frame: 0, checksum: header.checksum });
      expect(got.end.frame).toBe(frame);
      return got.end.checksum;
    } finally {
      await out.close();
    }
  } finally {
    await fd.close();
  }
}
