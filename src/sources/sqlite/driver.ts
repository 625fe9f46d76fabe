import { rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { ownedTempDir } from '../../leftovers/temp-dir.js';
import type { Restored, RestoreContext, SourceDriver } from '../contract.js';
import { refuseExisting, writeStreamAtomically } from '../restore-file.js';
import { scratchDir } from '../scratch-dir.js';
import { readSnapshotFile, snapshotFileNode } from '../snapshot-file.js';
import { measureSqlite } from './measure.js';

/** Pages per backup step once started: all of them, so concurrent writers cannot restart the copy forever. */
const ALL_PAGES = 0x7fffffff;

/**
 * A SQLite database, copied with the online backup API into a private temp file
 * (consistent while the application keeps writing, WAL or rollback journal),
 * then measured and stored under the database's own path in the snapshot.
 */
export const sqliteSource: SourceDriver<'sqlite'> = {
  type: 'sqlite',
  verifiedFields: ['integrity', 'tables', 'schemaHash'],
  scratchTarget: scratchDir(),

  async capture(config, ctx) {
    const original = path.resolve(config.path);
    await stat(original).catch((err: NodeJS.ErrnoException) => {
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `SQLite database ${original} cannot be read: ${err.code ?? err.message}`,
        { hint: 'check the source path and its permissions' },
      );
    });
    // A 0700 directory: the copy is as private as the run's own temp dir (and recorded, so a killed backup's copy is swept).
    const own = config.temp_dir ? await ownedTempDir(config.temp_dir, 'lifeboat-sqlite-') : undefined;
    const copy = path.join(own?.path ?? ctx.tempDir, path.basename(original));
    const removeCopy = () => (own ? own.dispose() : rm(copy, { force: true }));
    let journalMode: string;
    try {
      const db = new Database(original, { readonly: true, fileMustExist: true, timeout: 30_000 });
      try {
        journalMode = db.pragma('journal_mode', { simple: true }) as string;
        ctx.log(`copying ${original} with the SQLite online backup API`);
        await db.backup(copy, { progress: () => ALL_PAGES });
      } finally {
        db.close();
      }
    } catch (err) {
      await removeCopy();
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `SQLite backup of ${original} failed: ${(err as Error).message}`,
        { cause: err, hint: 'is the file a SQLite database, and readable by this user?' },
      );
    }
    const record = measureSqlite(copy);
    if (record.integrity !== 'ok') {
      await removeCopy();
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `SQLite database ${original} fails its integrity check: ${record.integrity.slice(0, 500)}`,
        { hint: 'the live database is damaged; repair it before backing it up, and keep the previous snapshots' },
      );
    }
    return {
      mounts: [{ from: copy, at: original }],
      record: async () => ({ ...record, path: original, journalMode }),
      release: removeCopy,
    };
  },

  async restore(ctx: RestoreContext<'sqlite'>): Promise<Restored> {
    const recorded = String(
      (ctx.snapshot.metadata as { record?: { path?: string } }).record?.path ?? ctx.config?.path ?? '',
    );
    if (!recorded) throw new LifeboatError(ErrorCode.Corrupt, 'the snapshot does not say where the database was');
    const target = ctx.toFile ?? (ctx.target ? path.join(ctx.target, path.basename(recorded)) : undefined);
    if (!target)
      throw new LifeboatError(ErrorCode.Usage, 'restoring a SQLite source needs --to-file PATH (or --target DIR)', {
        hint: `the database was ${recorded}; restore next to it, check it, then swap`,
      });
    const node = await snapshotFileNode(ctx.repo, ctx.snapshot, recorded);
    const replacing = await refuseExisting(target, ctx.force, 'a database');
    ctx.log(`restoring ${recorded} to ${target}`);
    await writeStreamAtomically(target + '.restoring', readSnapshotFile(ctx.repo, node, recorded), node.mode ?? 0o600);
    if (replacing) {
      // A WAL or journal left beside the old file would be replayed into the restored one.
      await Promise.all(['-wal', '-shm', '-journal'].map((s) => rm(target + s, { force: true })));
    }
    await rename(target + '.restoring', target);
    return { location: target, details: { file: target } };
  },

  async inspect(restored) {
    return measureSqlite(String(restored.details.file));
  },
};
