/**
 * A repository opened with a write-only key (format document §2.2, ADR 0048):
 * the slice a backup uses (`ArchiverRepo`) and nothing else. Everything it
 * writes — blobs, pack headers, index files, the snapshot, its lock — is sealed
 * with a session key sealed to the repository's public key (envelope version
 * 2), which this process forgets when it closes. It deduplicates against
 * every host through presence sidecars, and finds its parent in its own
 * local state, never by reading the repository.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Storage } from '../storage/contract.js';
import { Chunker, gearTable } from './chunking/index.js';
import { blobId, newSessionKey, seal, type RepositoryKeys, type WriteOnlyKey } from './crypto/index.js';
import {
  BlobCompressor,
  encodeIndexFile,
  encodeTree,
  sealVerified,
  type BlobId,
  type IndexedPack,
  type RepositoryConfig,
  type Snapshot,
  type SnapshotEntry,
  type Tree,
} from './format/index.js';
import { sha256Hex } from './ids.js';
import { MasterIndex } from './index/index.js';
import { acquireLockWaiting, DEFAULT_LOCK_TIMING, type LockHandle, type LockTiming } from './locks.js';
import { loadPresence, writePresence } from './presence.js';
import { BlobWorkerPool } from './workers/index.js';
import { WriteOnlyState } from './write-only-state.js';
import { withWriteSession, type BlobWriter, type WriteSessionResult, type WriterOptions } from './write-session.js';

export interface WriteOnlyOpenOptions {
  lockTiming?: LockTiming;
  lockWaitMs?: number;
  /** The local state directory: where this host keeps its own last trees (none: every file is read again). */
  stateDir?: string;
}

/**
 * A repository opened with a write-only key (`Repository.openForBackup`): the
 * slice of a repository a backup needs — write sessions, index files with
 * their presence sidecars, snapshots — sealed to the repository's public key.
 * It cannot open anything stored, its own earlier backups included.
 */
export class WriteOnlyRepository {
  readonly role = 'write-only' as const;
  readonly index = new MasterIndex();
  readonly chunker: Chunker;
  /** `encryption` is this session's sealing key: it opens only what this process sealed. */
  readonly keys: RepositoryKeys;
  readonly config: RepositoryConfig;
  readonly cache = undefined;
  private poolInstance: BlobWorkerPool | undefined;
  private readonly compressor: BlobCompressor;
  private readonly state: WriteOnlyState;
  /** Trees encoded in this process (id hex → bytes): remembered with the snapshot. */
  private readonly encodedTrees = new Map<string, Buffer>();
  private stateLoaded: Promise<boolean> | undefined;
  lockWaitMs: number;

  constructor(
    readonly storage: Storage,
    private readonly key: WriteOnlyKey,
    readonly keyName: string | undefined,
    private readonly options: WriteOnlyOpenOptions = {},
  ) {
    const r = key.repository;
    this.config = { ...r, createdAt: '' };
    // No master secret: the empty buffer is what `key export` and fingerprints would refuse to use.
    this.keys = {
      master: Buffer.alloc(0),
      encryption: newSessionKey(key.publicKey),
      blobId: key.blobId,
      chunker: key.chunker,
    };
    this.compressor = new BlobCompressor(r.compression.level);
    this.chunker = new Chunker(r.chunker, gearTable(key.chunker));
    const keyId = keyName?.slice('keys/'.length);
    this.state = new WriteOnlyState(
      options.stateDir && keyId ? WriteOnlyState.fileFor(options.stateDir, r.id, keyId) : undefined,
      key.state,
    );
    this.lockWaitMs = options.lockWaitMs ?? 0;
  }

  get id(): string {
    return this.key.repository.id;
  }

  get pool(): BlobWorkerPool {
    this.poolInstance ??= new BlobWorkerPool(this.keys, this.config);
    return this.poolInstance;
  }

  /** Stop the worker threads; the repository is not used after. */
  async close(): Promise<void> {
    await this.poolInstance?.close();
    this.poolInstance = undefined;
    await this.storage.close();
  }

  /** Only shared locks: a write-only key adds, it never takes the exclusive lock. */
  lock(exclusive: boolean, purpose: string): Promise<LockHandle> {
    if (exclusive) throw refused('an exclusive lock');
    return acquireLockWaiting(
      this.storage,
      this.keys.encryption,
      false,
      purpose,
      this.options.lockTiming ?? DEFAULT_LOCK_TIMING,
      this.lockWaitMs,
    );
  }

  /** Learn which blobs exist (presence sidecars); there is no pack check a write-only key could make. */
  async prepareRead(): Promise<{ missing: string[]; wrongSize: string[]; unindexed: string[] }> {
    await loadPresence(this.storage, this.key.presence, this.index);
    return { missing: [], wrongSize: [], unindexed: [] };
  }

  /** The snapshots this host remembers in its local state: the only ones it can use as a parent. */
  async listSnapshots(): Promise<{
    snapshots: SnapshotEntry[];
    problems: Array<{ name: string; error: LifeboatError }>;
  }> {
    this.stateLoaded ??= this.state.load();
    await this.stateLoaded;
    return { snapshots: this.state.snapshots(), problems: [] };
  }

  /** A tree of a remembered snapshot (from the local state), or one this process wrote. */
  async loadTree(idHex: string): Promise<Tree> {
    const tree = this.state.tree(idHex);
    if (tree) return tree;
    throw refused(`reading tree ${idHex.slice(0, 12)}`);
  }

  /** Run `fn` with a blob writer (a write session): the packs it stored are indexed at the end. */
  withWriter<T>(
    purpose: string,
    fn: (writer: BlobWriter) => Promise<T>,
    options?: WriterOptions,
  ): Promise<WriteSessionResult<T>> {
    return withWriteSession(this, purpose, fn, options);
  }

  /** Write an index file and its presence sidecar (other write-only hosts deduplicate against it). */
  async saveIndex(packs: IndexedPack[]): Promise<string | undefined> {
    if (packs.length === 0) return undefined;
    const id = await this.writeObject('index', 'index', encodeIndexFile({ supersedes: [], packs }));
    await writePresence(this.storage, this.key.presence, id, packs);
    return id;
  }

  /** Store the snapshot, then remember it and its trees in the local state; its id. */
  async saveSnapshot(snapshot: Snapshot): Promise<string> {
    const id = await this.writeObject('snapshots', 'snapshot', Buffer.from(JSON.stringify(snapshot)));
    await this.state.remember({ ...snapshot, id } as SnapshotEntry, this.encodedTrees);
    return id;
  }

  /** Seal one blob on the calling thread (small blobs: trees), with this session's key. */
  sealOnMain(data: Buffer, id: BlobId = this.blobIdOf(data)): { id: BlobId; sealed: Buffer; rawLength: number } {
    return sealVerified(this.keys.encryption, this.compressor, id, data);
  }

  /** The blob id of `data` (keyed hash): the same on every host, which is what deduplicates. */
  blobIdOf(data: Buffer): BlobId {
    return blobId(this.key.blobId, data);
  }

  /** A tree in its stored form; kept, so the snapshot's trees can be remembered locally. */
  encodeTree(tree: Tree): Buffer {
    const encoded = encodeTree(tree);
    this.encodedTrees.set(this.blobIdOf(encoded).toString('hex'), encoded);
    return encoded;
  }

  private async writeObject(dir: 'index' | 'snapshots', kind: 'index' | 'snapshot', plain: Buffer): Promise<string> {
    const sealed = seal(this.keys.encryption, kind, plain);
    const id = sha256Hex(sealed);
    await this.storage.put(`${dir}/${id}`, sealed);
    return id;
  }
}

/** `role_refused` for what a write-only key cannot do. */
export function refused(what: string): LifeboatError {
  return new LifeboatError(
    ErrorCode.RoleRefused,
    `${what} is refused: the repository was opened with a write-only key, which can add backups but cannot read or change anything in the repository`,
    {
      hint: 'use an admin key (a password whose slot `lifeboat key list` shows as admin) or the recovery key file (--key-file)',
    },
  );
}
