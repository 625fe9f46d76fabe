/**
 * The one contract every source type implements (docs/sources/). A driver captures
 * its data as files and/or streams for the archiver, records facts for later
 * verification (row counts, schema hash, key counts, …), restores a snapshot
 * to a target, and measures a restored copy the same way it measured the
 * original, so verification is "measure again and compare".
 *
 * @module
 */

import type { Mount, StreamEntry } from '../archiver/virtual-root.js';
import type { InputError } from '../archiver/walker.js';
import type { SourceConfigOf, SourceType } from '../config/source-schemas.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';

export type SourceRecord = Record<string, unknown>;

export interface CaptureContext {
  /** The source's name in lifeboat.yaml. */
  sourceName: string;
  /** A private (0700) directory for this run, removed afterwards. */
  tempDir: string;
  signal: AbortSignal;
  /** Progress and notes for the user; never pass secrets. */
  log: (line: string) => void;
}

export interface Capture {
  /** Real paths for the archiver to walk (a files source, a snapshot directory). */
  paths?: string[];
  excludes?: string[];
  /** Real directories stored under a stable snapshot path (a server's snapshot directory). */
  mounts?: Mount[];
  /** Inputs the capture could not find (a glob that matched nothing): recorded as the backup's input errors (exit 3, or 1 with nothing saved). */
  inputErrors?: InputError[];
  /** Streams stored at fixed paths inside the snapshot (`/postgres/app.dump`). */
  streams?: StreamEntry[];
  /** The facts recorded for verification; called once every stream was read to the end, with what the snapshot holds. */
  record(stored: { files: number; bytes: number }): Promise<SourceRecord>;
  /** Release what capture created (server-side snapshots, connections); runs after success and failure. */
  release?(): Promise<void>;
}

export interface RestoreTarget {
  /** A directory (files, snapshot-directory sources, or where a file-like source is placed). */
  target?: string;
  /** A database name (postgres, mysql). */
  toDatabase?: string;
  /** A file path (sqlite, redis RDB, command output). */
  toFile?: string;
  /** A Docker volume name (docker): created through the Engine API when absent. */
  toVolume?: string;
  /** Replace what exists at the target. Without it an existing target is refused. */
  force?: boolean;
  /** age identity file for sealed files sources. */
  identity?: string;
}

export interface RestoreContext<T extends SourceType = SourceType> extends RestoreTarget {
  repo: Repository;
  snapshot: SnapshotEntry;
  sourceName: string;
  /**
   * The configured source of that name, when there is one: it says where the
   * server is. Restores must also work from the snapshot alone where they can.
   */
  config?: SourceConfigOf<T>;
  tempDir: string;
  signal: AbortSignal;
  log: (line: string) => void;
}

/** Where a restore put the data, in terms the driver's `inspect` understands. */
export interface Restored {
  /** Human-readable location: a path, `postgres://host:port/db`, … (never with a password). */
  location: string;
  /** Driver-specific details needed to inspect or clean up the restored copy. */
  details: Record<string, unknown>;
}

export interface SourceDriver<T extends SourceType = SourceType> {
  type: T;
  capture(config: SourceConfigOf<T>, ctx: CaptureContext): Promise<Capture>;
  restore(ctx: RestoreContext<T>): Promise<Restored>;
  /** Measure a restored copy the way `capture` recorded the original. */
  inspect(restored: Restored, ctx: RestoreContext<T>): Promise<SourceRecord>;
  /** Which recorded fields must match after a restore (compared by `compareRecords`). */
  verifiedFields: readonly string[];
  /**
   * An isolated place to restore into for `verify` and drills, never the
   * production target: inside `ctx.tempDir` (removed afterwards), or for a
   * database a new, uniquely named database on the configured server.
   */
  scratchTarget?(ctx: RestoreContext<T>): Promise<RestoreTarget>;
  /** Remove what a restore into `scratchTarget` created outside `ctx.tempDir` (drop the database); safe when the restore failed half-way or never ran. */
  discard?(target: RestoreTarget, ctx: RestoreContext<T>): Promise<void>;
}

/** What the snapshot's metadata holds for a source backup. */
export interface SourceMetadata {
  source: { type: SourceType; name: string; format: 1 };
  record: SourceRecord;
}
