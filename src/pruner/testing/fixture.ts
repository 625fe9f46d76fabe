/**
 * Prune test fixtures: a small in-memory repository (tiny chunks and packs, so
 * a few files make many packs), datasets on disk, and the oracle every prune
 * test ends with — check reports no error and every snapshot restores to the
 * content it was taken from.
 *
 * @module
 */

import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { backup } from '../../archiver/backup.js';
import { check } from '../../checker/check.js';
import type { CheckReport } from '../../checker/findings.js';
import { renderRecoveryKey } from '../../repository/crypto/index.js';
import { Repository } from '../../repository/repository.js';
import { listRecords } from '../record.js';
import { parseSnapshot, type SnapshotEntry } from '../../repository/format/index.js';
import { writeTombstone } from '../../repository/tombstone.js';
import { restore } from '../../restorer/restore.js';
import { MemoryStorage } from '../../storage/drivers/memory/index.js';
import type { Storage } from '../../storage/contract.js';

export const PASSWORD = 'prune test password';

export class Fixture {
  readonly objects = new Map<string, Buffer>();
  /** Content hashes of each snapshot's files at backup time, by snapshot id. */
  readonly expected = new Map<string, Map<string, string>>();
  private constructor(readonly dir: string) {}

  get keyFile(): string {
    return path.join(this.dir, 'recovery.txt');
  }

  static async create(): Promise<Fixture> {
    const f = new Fixture(await mkdtemp(path.join(os.tmpdir(), 'lifeboat-prune-')));
    const repo = await Repository.init(new MemoryStorage(f.objects), Buffer.from(PASSWORD), {
      packSize: 8192,
      chunker: { min: 256, avg: 1024, max: 4096 },
    });
    // Later opens use the recovery key: no scrypt per open keeps the tests fast.
    await writeFile(f.keyFile, renderRecoveryKey(repo.id, repo.keys.master));
    await repo.close();
    return f;
  }

  async cleanup(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }

  /** A fresh repository over the shared objects, optionally through a wrapper (faults). */
  open(wrap: (s: Storage) => Storage = (s) => s): Promise<Repository> {
    return Repository.open(wrap(new MemoryStorage(this.objects)), { kind: 'key-file', path: this.keyFile });
  }

  /** Write `files` (name → content) into a new directory named `name`. */
  async dataset(name: string, files: Record<string, Buffer>): Promise<string> {
    const root = path.join(this.dir, 'data', name);
    await mkdir(root, { recursive: true });
    for (const [file, content] of Object.entries(files)) await writeFile(path.join(root, file), content);
    return root;
  }

  async backup(root: string, repo?: Repository, beforeSave?: () => Promise<void>): Promise<SnapshotEntry> {
    const r = repo ?? (await this.open());
    try {
      const { snapshot } = await backup(r, { paths: [root], force: true, ...(beforeSave ? { beforeSave } : {}) });
      const hashes = new Map<string, string>();
      for (const file of await readdir(root)) {
        hashes.set(
          file,
          createHash('sha256')
            .update(await readFile(path.join(root, file)))
            .digest('hex'),
        );
      }
      this.expected.set(snapshot.id, hashes);
      return snapshot;
    } finally {
      if (!repo) await r.close();
    }
  }

  /** Remove a snapshot object, as forget would: its tombstone first. */
  async forget(id: string): Promise<void> {
    const repo = await this.open();
    try {
      const s = parseSnapshot(await repo.readObject(`snapshots/${id}`, 'snapshot'), id);
      await writeTombstone(repo, {
        snapshot: id,
        time: s.time,
        tree: s.tree,
        forgottenAt: new Date().toISOString(),
        audit: 'audit/test',
      });
    } finally {
      await repo.close();
    }
    this.objects.delete(`snapshots/${id}`);
    this.expected.delete(id);
  }

  /** Packs named by the prune records still pending (a record naming none only carries the snapshot set). */
  async markedPacks(): Promise<string[]> {
    const repo = await this.open();
    try {
      return (await listRecords(repo)).records.flatMap((r) => r.packs);
    } finally {
      await repo.close();
    }
  }

  names(prefix: string): string[] {
    return [...this.objects.keys()].filter((n) => n.startsWith(prefix)).sort();
  }

  bytes(prefix: string): number {
    return [...this.objects].filter(([n]) => n.startsWith(prefix)).reduce((sum, [, b]) => sum + b.length, 0);
  }

  /** Every object but locks (which come and go with each command). */
  state(): string[] {
    return [...this.objects.keys()].filter((n) => !n.startsWith('locks/')).sort();
  }

  async check(): Promise<CheckReport> {
    const repo = await this.open();
    try {
      return await check(repo, { readDataPercent: 100 });
    } finally {
      await repo.close();
    }
  }

  /** Problems found restoring every remaining snapshot and comparing it with its source; [] when all is well. */
  async restoreAll(): Promise<string[]> {
    const repo = await this.open();
    const problems: string[] = [];
    try {
      const { snapshots } = await repo.listSnapshots();
      for (const s of snapshots) {
        const target = await mkdtemp(path.join(this.dir, 'restore-'));
        const result = await restore(repo, s, { target });
        for (const e of result.errors) problems.push(`${s.id.slice(0, 8)} ${e.path}: ${e.message}`);
        const root = path.join(target, s.paths[0]!);
        for (const [file, hash] of this.expected.get(s.id) ?? new Map<string, string>()) {
          const got = await readFile(path.join(root, file)).then(
            (b) => createHash('sha256').update(b).digest('hex'),
            () => 'absent',
          );
          if (got !== hash) problems.push(`${s.id.slice(0, 8)} ${file}: restored content differs (${got.slice(0, 8)})`);
        }
        await rm(target, { recursive: true, force: true });
      }
    } finally {
      await repo.close();
    }
    return problems;
  }
}

/** Seeded pseudo-random bytes (xorshift), incompressible and reproducible. */
export function randomish(seed: number, length: number): Buffer {
  const out = Buffer.alloc(length);
  let x = seed * 2654435761 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}
