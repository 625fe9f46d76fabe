import { randomBytes } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { Repository } from '../../../repository/repository.js';
import { pause } from '../../../util/pause.js';
import { storeFullCopy } from './full-copy.js';
import { writeReplicationStatus, type ReplicationStatus } from './replication-status.js';
import { enforceStreamRetention } from './stream-retention.js';
import { StreamLease } from './stream-lease.js';
import { listStream } from './stream-listing.js';
import { newGenerationName, segmentName } from './stream-names.js';
import {
  encodeSegment,
  getStreamObject,
  decodeSegment,
  putStreamObject,
  streamIdOf,
  type BaseManifest,
  type SegmentHeader,
} from './stream-objects.js';
import {
  FRAME_HEADER_BYTES,
  frameStillThere,
  readCommittedFrames,
  readWalHeader,
  type ChainPoint,
} from './wal-file.js';

/** The SQLite database `replicate` ships continuously, and the repository it ships to. */
export interface ReplicateOptions {
  /** The source's name (the stream is named after it). */
  source: string;
  /** The database file. */
  path: string;
  repo: Repository;
  /** Ship at most this often (ms). */
  intervalMs: number;
  /** Take a new full copy this often (ms). */
  snapshotEveryMs: number;
  /** Keep every point of this window restorable (ms). */
  retentionMs: number;
  /** Where the status file goes; no status file when undefined. */
  stateDir?: string;
  /** Display name of the repository, for the status. */
  repositoryName?: string;
  /** Progress lines, as the CLI prints them. */
  log?: (line: string) => void;
  /** Checkpoint (and let the log restart) once it holds this many bytes and everything is shipped. */
  checkpointBytes?: number;
  /** Stop reading new frames while this many bytes wait to be shipped (the log keeps them). */
  maxPendingBytes?: number;
  /** The clock (tests inject one). */
  now?: () => number;
  /** Take the stream's lease so that no second replicator ships into it (default true). */
  lease?: boolean;
  /** Called after each stored segment with its commits' first-seen times (for measurements). */
  onShipped?: (commitMs: number[], storedMs: number) => void;
}

/** Frames of whole transactions read from one log index and not shipped yet. */
interface Draft extends Pick<SegmentHeader, 'index' | 'first' | 'last' | 'prev' | 'pageSize' | 'salts' | 'checksum'> {
  frames: Buffer[];
  bytes: number;
  commits: Array<[number, number, number]>;
}

const DEFAULT_CHECKPOINT_BYTES = 16 * 1024 * 1024;
/** A checkpoint ships under the write lock only while writes take at most this long (writers wait for it). */
const LOCKED_SHIP_MAX_MS = 250;
const RETENTION_EVERY_MS = 10 * 60_000;

/**
 * Continuous protection of one SQLite database in WAL mode (ADR 0030): a read
 * transaction held open so that no checkpoint can remove frames not yet
 * shipped; the committed frames read from the log every poll and shipped
 * every interval; checkpoints run by the replicator once all is shipped; a
 * new generation with a full copy whenever continuity is not proven.
 */
export class Replicator {
  readonly stream: string;
  private pin: Database.Database | undefined;
  private writeLock: Database.Database | undefined;
  private generation = '';
  private index = 0;
  private pos: ChainPoint = { frame: 0, checksum: [0, 0] };
  private salts: [number, number] | null = null;
  private fileId = '';
  private drafts: Draft[] = [];
  private expectRestartAt: { index: number; frame: number } | undefined;
  /** A generation was begun and its full copy is not stored yet: nothing else is shipped before it. */
  private needsFullCopy = false;
  private lastShipMs = 0;
  private pageSize = 4096;
  /** How long the last segment write took (infinite after a failure): decides whether writers may wait for one. */
  private lastPutMs = 0;
  private lastFullCopyMs = 0;
  private lastRetentionMs = 0;
  private lastStatusMs = 0;
  private shipped = { index: 0, frame: 0 };
  private lastShippedCommitMs: number | undefined;
  private lastError: string | undefined;
  readonly counters = {
    objectsWritten: 0,
    bytesWritten: 0,
    transactionsShipped: 0,
    generationsStarted: 0,
    shipFailures: 0,
    checkpoints: 0,
    errors: 0,
  };
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly lease: StreamLease | undefined;

  constructor(private readonly options: ReplicateOptions) {
    this.stream = streamIdOf(options.repo, options.source);
    this.now = options.now ?? Date.now;
    this.log = options.log ?? (() => {});
    if (options.lease !== false) this.lease = new StreamLease(options.repo, this.stream, options.source, this.now);
  }

  get dbPath(): string {
    return path.resolve(this.options.path);
  }

  /** Poll period: commit times are late by at most this much. */
  get pollMs(): number {
    return Math.max(20, Math.min(this.options.intervalMs / 10, 100));
  }

  /**
   * How long to wait before the next tick: a poll period, or less when a
   * shipment falls due sooner, so that a batch goes out the moment its
   * interval has passed rather than at the next poll after it (the lag of
   * its oldest transaction is then one interval less one poll period, plus
   * the write).
   */
  nextDelayMs(): number {
    if (!this.drafts.length) return this.pollMs;
    return Math.max(0, Math.min(this.pollMs, this.lastShipMs + this.options.intervalMs - this.now()));
  }

  /** Resume the newest generation when the log still continues it, else begin a new one. */
  async start(): Promise<void> {
    await this.lease?.acquire();
    await this.openConnections();
    if (!(await this.tryResume())) await this.newGeneration('no generation to resume');
  }

  /** One poll: read what was committed, ship when due, checkpoint and take full copies when due. */
  async tick(): Promise<void> {
    if (!this.pin) {
      // The connections were closed after an error (or never opened): start over from a full copy.
      const why = !this.generation
        ? 'starting'
        : (await this.databaseReplaced())
          ? 'the database file was replaced'
          : 'reconnecting after an error';
      await this.newGeneration(why);
      return;
    }
    if (this.needsFullCopy) {
      await this.takeFullCopy();
      return;
    }
    if (await this.databaseReplaced()) {
      await this.newGeneration('the database file was replaced');
      return;
    }
    await this.readNew();
    const now = this.now();
    let shipped = false;
    if (this.drafts.length && now - this.lastShipMs >= this.options.intervalMs) {
      // A log due for a checkpoint ends with this shipment when storage is quick: one object per interval.
      if (this.walBytes() >= this.checkpointBytes && this.lastPutMs <= LOCKED_SHIP_MAX_MS)
        await this.maybeCheckpoint(true);
      if (this.drafts.length) await this.ship();
      shipped = true;
    }
    if (!this.drafts.length) {
      if (now - this.lastFullCopyMs >= this.options.snapshotEveryMs) await this.takeFullCopy();
      else if (!shipped) await this.maybeCheckpoint(false);
    }
    if (now - this.lastRetentionMs >= RETENTION_EVERY_MS) await this.retention();
    if (now - this.lastStatusMs >= 1000) await this.writeStatus(true);
  }

  /** Read and ship everything committed, then let go of the database. */
  async stop(): Promise<{ unshipped: number }> {
    try {
      await this.readNew();
      if (this.drafts.length) await this.ship();
    } finally {
      await this.writeStatus(false);
      this.closeConnections();
      await this.lease?.release();
    }
    return { unshipped: this.unshippedCommits() };
  }

  /** Run until `signal` aborts, then stop cleanly. */
  async run(signal: AbortSignal): Promise<{ unshipped: number }> {
    try {
      await this.start();
    } catch (err) {
      this.closeConnections();
      await this.lease?.release();
      throw err;
    }
    while (!signal.aborted) {
      await pause(this.nextDelayMs(), signal);
      if (signal.aborted) break;
      try {
        await this.tick();
      } catch (err) {
        // Another replicator took the stream over: this one stops instead of shipping beside it.
        if (err instanceof LifeboatError && err.code === ErrorCode.LockLost) {
          this.closeConnections();
          throw err;
        }
        const message = (err as Error).message;
        // The same failure at every poll is said once, and again when it changes.
        if (message !== this.lastError) this.log(`replication of ${this.options.source}: ${message}`);
        this.lastError = message;
        this.counters.errors++;
        if (!(err instanceof LifeboatError) || err.code !== ErrorCode.Storage) this.closeConnections();
        await this.writeStatus(true);
      }
    }
    return this.stop();
  }

  status(running: boolean): ReplicationStatus {
    const now = this.now();
    const oldest = this.drafts[0]?.commits[0]?.[1];
    return {
      source: this.options.source,
      repository: this.options.repositoryName ?? this.options.repo.storage.location,
      generation: this.generation,
      position: { ...this.shipped },
      lastShippedCommitMs: this.lastShippedCommitMs,
      lastFullCopyMs: this.lastFullCopyMs || undefined,
      lagSeconds: oldest === undefined ? 0 : Math.max(0, now - oldest) / 1000,
      unshippedCommits: this.unshippedCommits(),
      ...this.counters,
      lastError: this.lastError,
      running,
      pid: process.pid,
      intervalMs: this.options.intervalMs,
      updatedMs: now,
    };
  }

  // ---- the database

  private async openConnections(): Promise<void> {
    this.closeConnections();
    const file = this.dbPath;
    try {
      const pin = new Database(file, { fileMustExist: true, timeout: 5000 });
      const mode = String(pin.pragma('journal_mode', { simple: true }));
      if (mode !== 'wal') {
        pin.close();
        throw new LifeboatError(
          ErrorCode.SourceFailed,
          `${file} is in ${mode} journal mode; continuous protection needs WAL mode`,
          {
            hint: "switch the application's database to WAL (PRAGMA journal_mode=WAL) or remove `continuous` from the source",
          },
        );
      }
      // This connection never checkpoints by itself: checkpoints are run on purpose (maybeCheckpoint).
      pin.pragma('wal_autocheckpoint=0');
      this.pin = pin;
      this.writeLock = new Database(file, { fileMustExist: true, timeout: 5000 });
      this.writeLock.pragma('wal_autocheckpoint=0');
    } catch (err) {
      this.closeConnections();
      if (err instanceof LifeboatError) throw err;
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `SQLite database ${file} cannot be opened: ${(err as Error).message}`,
        { cause: err, hint: 'check the source path and its permissions' },
      );
    }
    this.holdPin();
    this.fileId = await fileIdOf(file);
  }

  private holdPin(): void {
    this.pin!.exec('BEGIN');
    this.pin!.prepare('SELECT count(*) FROM sqlite_schema').get();
  }

  private closeConnections(): void {
    for (const db of [this.pin, this.writeLock]) {
      try {
        if (db?.inTransaction) db.exec('ROLLBACK');
        db?.close();
      } catch {
        // Closing is best effort: the process may be ending.
      }
    }
    this.pin = this.writeLock = undefined;
  }

  private async databaseReplaced(): Promise<boolean> {
    try {
      return (await fileIdOf(this.dbPath)) !== this.fileId;
    } catch {
      return false;
    }
  }

  private async openWal(): Promise<FileHandle | undefined> {
    try {
      return await open(this.dbPath + '-wal', 'r');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  // ---- reading the log

  private pendingBytes(): number {
    return this.drafts.reduce((n, d) => n + d.bytes, 0);
  }

  private unshippedCommits(): number {
    return this.drafts.reduce((n, d) => n + d.commits.length, 0);
  }

  /** Read committed frames after the current position into drafts; follow a restart of the log we expected; anything else unexpected begins a new generation. */
  private async readNew(): Promise<void> {
    if (this.pendingBytes() >= (this.options.maxPendingBytes ?? 64 * 1024 * 1024)) return;
    const wal = await this.openWal();
    try {
      const header = wal ? await readWalHeader(wal) : undefined;
      if (!header || !wal) {
        // No log, or a truncated one: fine while nothing of this index was read; after a checkpoint of ours, the next index.
        if (this.pos.frame === 0) return;
        if (this.restartExpected()) return this.nextIndex(null, [0, 0]);
        return this.newGeneration('the log was truncated by someone else');
      }
      const sameLog = this.salts && this.salts[0] === header.salt1 && this.salts[1] === header.salt2;
      if (!sameLog) {
        if (this.pos.frame === 0) {
          this.salts = [header.salt1, header.salt2];
          this.pos = { frame: 0, checksum: header.checksum };
        } else if (this.restartExpected()) {
          this.nextIndex([header.salt1, header.salt2], header.checksum);
        } else {
          return this.newGeneration(
            'the log was restarted with frames that were not shipped (or the database was replaced)',
          );
        }
      }
      this.pageSize = header.pageSize;
      const got = await readCommittedFrames(wal, header, this.pos);
      if (!got.commits.length) return;
      const now = this.now();
      let draft = this.drafts.at(-1);
      if (!draft || draft.index !== this.index) {
        draft = {
          index: this.index,
          first: this.pos.frame + 1,
          last: this.pos.frame,
          prev: this.prevOf(),
          pageSize: header.pageSize,
          salts: [header.salt1, header.salt2],
          checksum: this.pos.checksum,
          frames: [],
          bytes: 0,
          commits: [],
        };
        this.drafts.push(draft);
      }
      for (const f of got.frames) {
        draft.frames.push(f);
        draft.bytes += f.length;
      }
      for (const c of got.commits) draft.commits.push([c.frame, now, c.dbSize]);
      draft.last = got.end.frame;
      draft.checksum = got.end.checksum;
      this.pos = got.end;
    } finally {
      await wal?.close();
    }
  }

  /** The position a new draft continues: the end of the previous draft, else what was shipped or copied. */
  private prevOf(): { index: number; frame: number } {
    const d = this.drafts.at(-1);
    if (d) return { index: d.index, frame: d.last };
    return {
      index: this.pos.frame === 0 && this.index > this.shipped.index ? this.shipped.index : this.index,
      frame: this.pos.frame === 0 && this.index > this.shipped.index ? this.shipped.frame : this.pos.frame,
    };
  }

  private restartExpected(): boolean {
    const e = this.expectRestartAt;
    return e !== undefined && e.index === this.index && e.frame === this.pos.frame;
  }

  private nextIndex(salts: [number, number] | null, checksum: [number, number]): void {
    this.index++;
    this.salts = salts;
    this.pos = { frame: 0, checksum };
    this.expectRestartAt = undefined;
  }

  // ---- shipping

  private async ship(): Promise<void> {
    this.lastShipMs = this.now();
    // Renewed only when something is written anyway: an idle source writes nothing, not even its lease.
    await this.lease?.renew();
    while (this.drafts.length) {
      const d = this.drafts[0]!;
      const name = segmentName(this.stream, {
        generation: this.generation,
        index: d.index,
        first: d.first,
        last: d.last,
        firstMs: d.commits[0]![1],
        lastMs: d.commits.at(-1)![1],
      });
      const header: SegmentHeader = {
        v: 1,
        generation: this.generation,
        index: d.index,
        first: d.first,
        last: d.last,
        prev: d.prev,
        pageSize: d.pageSize,
        salts: d.salts,
        checksum: d.checksum,
        commits: d.commits,
        fileId: this.fileId,
      };
      const putStart = this.now();
      try {
        this.counters.bytesWritten += await putStreamObject(this.options.repo, name, encodeSegment(header, d.frames));
        this.lastPutMs = this.now() - putStart;
      } catch (err) {
        this.lastPutMs = Number.POSITIVE_INFINITY;
        this.counters.shipFailures++;
        this.lastError = `shipping failed (will retry): ${(err as Error).message}`;
        this.log(`replication of ${this.options.source}: ${this.lastError}`);
        return;
      }
      this.lastError = undefined;
      this.counters.objectsWritten++;
      this.counters.transactionsShipped += d.commits.length;
      this.drafts.shift();
      this.shipped = { index: d.index, frame: d.last };
      this.lastShippedCommitMs = d.commits.at(-1)![1];
      this.options.onShipped?.(
        d.commits.map((c) => c[1]),
        this.now(),
      );
    }
  }

  // ---- checkpoints

  private get checkpointBytes(): number {
    return this.options.checkpointBytes ?? DEFAULT_CHECKPOINT_BYTES;
  }

  /**
   * Bytes of frames in the current log since its last restart (the file
   * itself keeps its size after a restart, so its size would ask for a
   * checkpoint at every poll).
   */
  private walBytes(): number {
    return this.pos.frame * (FRAME_HEADER_BYTES + this.pageSize);
  }

  /**
   * With a log past `checkpointBytes`: take the write lock, read the last
   * frames, checkpoint and pin again before writers may continue, so the
   * restart that follows loses nothing unread. `shipFirst`: the frames read
   * under the lock are shipped before the checkpoint (writers wait for one
   * write), so the old log ends with this shipment instead of costing an
   * object of its own; if that write fails, nothing is checkpointed.
   */
  private async maybeCheckpoint(shipFirst: boolean): Promise<void> {
    if (this.walBytes() < this.checkpointBytes) return;
    const lock = this.writeLock!;
    try {
      lock.exec('BEGIN IMMEDIATE');
    } catch {
      return; // a writer holds the lock for longer than the busy timeout: try at the next poll
    }
    try {
      await this.readNew();
      // Reading may have begun a new generation (new connections): this checkpoint is then moot.
      if (this.writeLock !== lock || this.needsFullCopy) return;
      if (shipFirst && this.drafts.length) {
        await this.ship();
        if (this.drafts.length || this.writeLock !== lock) return;
      }
      this.pin!.exec('ROLLBACK');
      try {
        this.pin!.pragma('wal_checkpoint(PASSIVE)');
      } finally {
        this.holdPin();
      }
      this.expectRestartAt = { index: this.index, frame: this.pos.frame };
      this.counters.checkpoints++;
    } finally {
      if (lock.open && lock.inTransaction) lock.exec('ROLLBACK');
    }
  }

  // ---- generations and full copies

  private async newGeneration(reason: string): Promise<void> {
    await this.openConnections();
    this.generation = newGenerationName(this.now(), randomBytes(4).toString('hex'));
    this.index = 0;
    this.drafts = [];
    this.expectRestartAt = undefined;
    this.salts = null;
    this.pos = { frame: 0, checksum: [0, 0] };
    this.counters.generationsStarted++;
    this.needsFullCopy = true;
    this.log(`replication of ${this.options.source}: new generation ${this.generation} (${reason})`);
    await this.takeFullCopy();
  }

  /**
   * A full copy at the end of the log. Within a running generation it must
   * continue the log read so far (same salts); a log that changed meanwhile
   * is left to the next read, which decides what it means.
   */
  private async takeFullCopy(): Promise<void> {
    await this.lease?.renew();
    const expect = this.needsFullCopy ? undefined : { salts: this.salts, frame: this.pos.frame };
    const copy = await storeFullCopy(this.options.repo, {
      stream: this.stream,
      generation: this.generation,
      index: this.index,
      dbPath: this.dbPath,
      fileId: this.fileId,
      now: this.now,
      expect,
    });
    if (!copy) return;
    this.needsFullCopy = false;
    this.salts = copy.header ? [copy.header.salt1, copy.header.salt2] : null;
    this.pos = copy.end;
    this.shipped = { index: this.index, frame: copy.end.frame };
    this.lastFullCopyMs = copy.manifest.ms;
    this.lastShippedCommitMs = copy.manifest.ms;
    this.counters.objectsWritten += copy.objects;
    this.counters.bytesWritten += copy.bytes;
  }

  /** Resume the newest generation when the log still holds the frame it ends with. */
  private async tryResume(): Promise<boolean> {
    const listing = await listStream(this.options.repo, this.stream);
    const gen = listing.generations.at(-1);
    if (!gen) return false;
    const seg = gen.segments.at(-1);
    const base = gen.bases.at(-1);
    let tip: {
      index: number;
      frame: number;
      salts: [number, number] | null;
      checksum: [number, number];
      fileId: string;
      pageSize: number;
      ms: number;
    };
    if (seg && (!base || seg.index > base.index || (seg.index === base.index && seg.last > base.frame))) {
      const { header } = decodeSegment(seg.name, await getStreamObject(this.options.repo, seg.name));
      tip = {
        index: header.index,
        frame: header.last,
        salts: header.salts,
        checksum: header.checksum,
        fileId: header.fileId,
        pageSize: header.pageSize,
        ms: header.commits.at(-1)![1],
      };
    } else if (base) {
      const m = JSON.parse((await getStreamObject(this.options.repo, base.name)).toString('utf8')) as BaseManifest;
      tip = {
        index: m.index,
        frame: m.frame,
        salts: m.salts,
        checksum: m.checksum,
        fileId: m.fileId,
        pageSize: m.pageSize,
        ms: m.ms,
      };
    } else {
      return false;
    }
    if (tip.fileId !== this.fileId || !tip.salts || tip.frame === 0) return false;
    const wal = await this.openWal();
    try {
      const header = wal ? await readWalHeader(wal) : undefined;
      if (!wal || !header || header.salt1 !== tip.salts[0] || header.salt2 !== tip.salts[1]) return false;
      if (!(await frameStillThere(wal, header, { frame: tip.frame, checksum: tip.checksum }))) return false;
    } finally {
      await wal?.close();
    }
    this.generation = gen.name;
    this.index = tip.index;
    this.salts = tip.salts;
    this.pos = { frame: tip.frame, checksum: tip.checksum };
    this.shipped = { index: tip.index, frame: tip.frame };
    this.lastShippedCommitMs = tip.ms;
    this.lastFullCopyMs = base?.ms ?? 0;
    this.log(
      `replication of ${this.options.source}: resuming generation ${gen.name} after frame ${tip.frame} of log ${tip.index}`,
    );
    return true;
  }

  /** Said once: an append key leaves the window's removals to an admin. */
  private retentionLeftToAdmin = false;

  private async retention(): Promise<void> {
    this.lastRetentionMs = this.now();
    if (this.options.repo.role !== 'admin') {
      // An append key never deletes (ADR 0043): the window is applied by an admin's `forget`, and shipping goes on.
      if (!this.retentionLeftToAdmin)
        this.log(
          `replication of ${this.options.source}: this key's role is ${this.options.repo.role}, so objects older than the window stay until an admin runs \`lifeboat forget\``,
        );
      this.retentionLeftToAdmin = true;
      return;
    }
    const removed = await enforceStreamRetention(this.options.repo, this.stream, this.now() - this.options.retentionMs);
    if (removed)
      this.log(`replication of ${this.options.source}: retention removed ${removed} objects older than the window`);
  }

  private async writeStatus(running: boolean): Promise<void> {
    this.lastStatusMs = this.now();
    if (!this.options.stateDir) return;
    await writeReplicationStatus(this.options.stateDir, this.status(running)).catch((err: Error) =>
      this.log(`replication status not written: ${err.message}`),
    );
  }
}

async function fileIdOf(file: string): Promise<string> {
  const s = await stat(file);
  return `${s.dev}:${s.ino}`;
}
