import { removeLocks, type UnlockResult } from './stale-locks.js';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import type { Storage } from '../storage/contract.js';
import {
  openBlob,
  sealVerified,
  BlobType,
  blobIdFromHex,
  type BlobId,
  type BlobLocation,
  BlobCompressor,
  decodeIndexFile,
  encodeIndexFile,
  type IndexedPack,
} from './format/index.js';
import { ObjectCache, readThrough, type CacheUse } from './cache.js';
import { applyKnownDamage } from './known-damage.js';
import { Chunker, gearTable, type ChunkerParams } from './chunking/index.js';
import {
  blobId,
  deriveRepositoryKeys,
  newMasterSecret,
  open,
  seal,
  type ObjectKind,
  type RepositoryKeys,
  type Credentials,
  claimedRole,
  createKeySlot,
  createWriteOnlySlot,
  derivePresenceKey,
  type KeyRole,
  newWriteOnlyKey,
  parseKeySlot,
  unlock,
  type WriteOnlyKey,
} from './crypto/index.js';
import { indexesWithoutPresence, writePresence } from './presence.js';
import { refused, WriteOnlyRepository } from './write-only-repository.js';
import { packObjectName, randomId, sha256Hex } from './ids.js';
import { IndexFiles, type IndexProblem, MasterIndex } from './index/index.js';
import { acquireLockWaiting, DEFAULT_LOCK_TIMING, type LockHandle, type LockTiming } from './locks.js';
import { missingBlob, readRanges, type RangeReadOptions, type RangeUse } from './pack-ranges.js';
import {
  newRepositoryConfig,
  WRITE_ONLY_FORMAT_VERSION,
  parseRepositoryConfig,
  type RepositoryConfig,
  parseSnapshot,
  type Snapshot,
  type SnapshotEntry,
  decodeTree,
  encodeTree,
  type Tree,
} from './format/index.js';
import { BlobWorkerPool } from './workers/index.js';
import { requireAdmin } from './key-role.js';
import { withWriteSession, type BlobWriter, type WriteSessionResult, type WriterOptions } from './write-session.js';
import { mapLimit } from '../util/map-limit.js';
import { tracePhase } from '../util/trace-timing.js';

/** How a repository is opened: its local cache, and how long to wait for another process's lock. */
export interface OpenOptions {
  /** Root directory of the local cache; no cache when undefined. */
  cacheRoot?: string;
  lockTiming?: LockTiming;
  /** How long to keep trying when another process holds a conflicting lock (default: fail at once). */
  lockWaitMs?: number;
  /** The local state directory, where a write-only key keeps its own last trees (`openForBackup`). */
  stateDir?: string;
}

/** Settings of a new repository (pack size, chunker, compression); the defaults suit most uses. */
export interface InitOptions extends OpenOptions {
  chunker?: ChunkerParams;
  compressionLevel?: number;
  packSize?: number;
}

/** Packs the index names that are missing from storage or have another size, and packs in no index. */
export interface PackCheck {
  /** Packs an index names that storage does not hold. */
  missing: string[];
  /** Packs whose stored size differs from the index. */
  wrongSize: string[];
  /** Packs in storage that no index names. */
  unindexed: string[];
}

export interface ListedSnapshots {
  snapshots: SnapshotEntry[];
  /** Snapshot objects that could not be read, with why. */
  problems: Array<{ name: string; error: LifeboatError }>;
}

/**
 * The repository engine: keys, config, index, snapshots and trees over a dumb
 * Storage. Everything written is sealed; content-addressed objects are named by
 * the SHA-256 of their stored bytes, and nothing is rewritten except locks.
 */
export class Repository {
  readonly index: MasterIndex;
  private poolInstance: BlobWorkerPool | undefined;
  private readonly compressor: BlobCompressor;
  readonly chunker: Chunker;
  private readonly trees = new Map<string, Tree>();
  /** Whole tree packs kept in memory while walking trees (bounded). */
  private readonly treePacks = new Map<string, Buffer>();
  private treePackBytes = 0;
  private readonly indexFiles: IndexFiles;
  /** Packs found gone while reading, with the reload that followed (one per pack). */
  private readonly gonePacks = new Map<string, Promise<void>>();

  private constructor(
    readonly storage: Storage,
    readonly keys: RepositoryKeys,
    readonly config: RepositoryConfig,
    readonly cache: ObjectCache | undefined,
    readonly keyName: string | undefined,
    private readonly lockTiming: LockTiming,
    /** The role of the key that opened it (admin for `init` and the recovery key); see `requireAdmin`. */
    readonly role: KeyRole,
    /** How index files, snapshots and tree packs use the local cache (see `readingFromStorage`). */
    private readonly cacheUse: CacheUse = 'trust',
    /** The repository this one is a storage-reading view of: its worker pool is shared. */
    private readonly viewOf?: Repository,
    /** A view that keeps the index of the repository it views (see `readingFromStorage`). */
    sharesIndex = false,
  ) {
    this.index = sharesIndex && viewOf ? viewOf.index : new MasterIndex();
    this.compressor = new BlobCompressor(config.compression.level);
    this.chunker = new Chunker(config.chunker, gearTable(keys.chunker));
    this.indexFiles =
      sharesIndex && viewOf
        ? viewOf.indexFiles
        : new IndexFiles(storage, async (name) => decodeIndexFile(await this.readObject(name, 'index')), this.index);
  }

  get id(): string {
    return this.config.id;
  }

  /** Whether `storage` holds a repository (its `config` object). */
  static async exists(storage: Storage): Promise<boolean> {
    try {
      await storage.stat('config');
      return true;
    } catch (err) {
      if (isLifeboatError(err, ErrorCode.NotFound)) return false;
      throw err;
    }
  }

  /** Create a new repository in `storage`, encrypted with a key that `password` opens; LifeboatError `repository_exists` when there is one. */
  static async init(storage: Storage, password: Buffer, options: InitOptions = {}): Promise<Repository> {
    if (await Repository.exists(storage)) {
      throw new LifeboatError(ErrorCode.RepositoryExists, `a repository already exists at ${storage.location}`, {
        hint: 'choose another location, or use the existing repository',
      });
    }
    const master = newMasterSecret();
    const keys = deriveRepositoryKeys(master);
    const config = newRepositoryConfig(randomId(), options);
    const slot = await createKeySlot(master, password);
    const keyName = `keys/${randomId()}`;
    // The key first, the config last: a repository exists once its config does.
    await storage.put(keyName, Buffer.from(JSON.stringify(slot, null, 2)));
    await storage.put('config', seal(keys.encryption, 'config', Buffer.from(JSON.stringify(config))));
    return new Repository(
      storage,
      keys,
      config,
      cacheFor(options, config.id),
      keyName,
      options.lockTiming ?? DEFAULT_LOCK_TIMING,
      'admin',
    );
  }

  /**
   * Open the repository in `storage`; LifeboatError `repository_not_found`, or
   * `wrong_password` when no key slot opens with the credentials, or
   * `role_refused` when only a write-only key opens (it can back up, see `openForBackup`).
   */
  static async open(storage: Storage, credentials: Credentials, options: OpenOptions = {}): Promise<Repository> {
    const opened = await Repository.openAny(storage, credentials, options);
    if (opened instanceof Repository) return opened;
    throw refused('opening the repository for anything but a backup');
  }

  /**
   * Open the repository to add a backup: a `Repository`, or with a write-only
   * key a `WriteOnlyRepository`, which backs up and does nothing else.
   */
  static async openForBackup(
    storage: Storage,
    credentials: Credentials,
    options: OpenOptions = {},
  ): Promise<Repository | WriteOnlyRepository> {
    const opened = await Repository.openAny(storage, credentials, options);
    if (opened instanceof Repository) return opened;
    return new WriteOnlyRepository(storage, opened.writeOnly, opened.keyName, options);
  }

  private static async openAny(
    storage: Storage,
    credentials: Credentials,
    options: OpenOptions,
  ): Promise<Repository | { writeOnly: WriteOnlyKey; keyName: string | undefined }> {
    let configBytes: Buffer;
    try {
      configBytes = await storage.get('config');
    } catch (err) {
      if (isLifeboatError(err, ErrorCode.NotFound)) {
        throw new LifeboatError(ErrorCode.RepositoryNotFound, `there is no repository at ${storage.location}`, {
          hint: 'create one with `lifeboat init`, or check --repo',
        });
      }
      throw err;
    }
    // Several slots may open with one password (e.g. a slot left by an interrupted
    // init): the right one is the slot whose master secret authenticates the config.
    let lastError: unknown;
    let configReads = 1;
    let writeOnly: { writeOnly: WriteOnlyKey; keyName: string | undefined } | undefined;
    for await (const opening of unlock(storage, credentials)) {
      tracePhase('key unlocked');
      // A write-only key cannot authenticate the config; a key with the master secret is preferred.
      if ('writeOnly' in opening) {
        writeOnly ??= { writeOnly: opening.writeOnly, keyName: opening.keyName };
        continue;
      }
      const { master, keyName, role } = opening;
      const keys = deriveRepositoryKeys(master);
      let plain: Buffer;
      try {
        plain = open(keys.encryption, 'config', configBytes);
      } catch (err) {
        lastError = err;
        // Read the config once more: bytes damaged on the way are not a damaged config.
        if (configReads++ > 1) continue;
        configBytes = await storage.get('config');
        try {
          plain = open(keys.encryption, 'config', configBytes);
        } catch {
          continue;
        }
      }
      const config = parseRepositoryConfig(plain);
      const repo = new Repository(
        storage,
        keys,
        config,
        cacheFor(options, config.id),
        keyName,
        options.lockTiming ?? DEFAULT_LOCK_TIMING,
        role,
      );
      repo.lockWaitMs = options.lockWaitMs ?? 0;
      return repo;
    }
    if (writeOnly && !lastError) return writeOnly;
    if (credentials.kind === 'key-file') {
      throw new LifeboatError(ErrorCode.WrongPassword, 'the key file does not open this repository', {
        hint: 'check that it belongs to this repository',
      });
    }
    // The password opened a key, so it is right: the config itself does not authenticate.
    if (lastError) {
      throw new LifeboatError(
        ErrorCode.Corrupt,
        'the repository config failed authentication: it is damaged, or the key that opened belongs to another repository',
        {
          hint: 'run `lifeboat check`; the data can still be read with a recovery key only if the config is intact',
          cause: lastError,
        },
      );
    }
    throw new LifeboatError(ErrorCode.WrongPassword, 'wrong password', {
      hint: `check ${credentials.kind === 'password' ? credentials.source : 'the key'}; a recovery key file can be used with --key-file`,
    });
  }

  /**
   * A view of this repository for readers whose answer is about storage
   * (`check`, `verify`, drills, the check of a copy): index files, snapshots
   * and tree packs are read from storage every time (the cache is refreshed,
   * never served), and no tree read before is carried over; nor is the index,
   * unless `index` is 'shared' (for checks of trees and packs that trust the
   * index files loaded already, e.g. right after a backup wrote them). It
   * shares this repository's storage and worker pool; its `close` releases
   * only what it holds itself.
   */
  readingFromStorage(index: 'fresh' | 'shared' = 'fresh'): Repository {
    const base = this.viewOf ?? this;
    const view = new Repository(
      this.storage,
      this.keys,
      this.config,
      this.cache,
      this.keyName,
      this.lockTiming,
      this.role,
      'storage',
      base,
      index === 'shared' && base === this,
    );
    view.lockWaitMs = this.lockWaitMs;
    return view;
  }

  /** Whether cached copies are served (false for a `readingFromStorage` view). */
  get trustsCache(): boolean {
    return this.cacheUse === 'trust';
  }

  /** The worker pool, started on first use. */
  get pool(): BlobWorkerPool {
    if (this.viewOf) return this.viewOf.pool;
    this.poolInstance ??= new BlobWorkerPool(this.keys, this.config);
    return this.poolInstance;
  }

  /** Release the cache and the worker threads; the repository cannot be used afterwards. */
  async close(): Promise<void> {
    if (this.viewOf) {
      this.trees.clear();
      this.treePacks.clear();
      return;
    }
    if (this.poolInstance) {
      await this.poolInstance.close();
      this.poolInstance = undefined;
      tracePhase('workers stopped');
    }
    await this.storage.close();
  }

  /** Take a lock; with `lockWaitMs`, a conflicting lock is retried until that long has passed. */
  lock(exclusive: boolean, purpose: string): Promise<LockHandle> {
    return acquireLockWaiting(this.storage, this.keys.encryption, exclusive, purpose, this.lockTiming, this.lockWaitMs);
  }

  /** `unlock`: remove the stale locks (see `isStale`), or with `all` every lock; takes no lock itself. */
  async unlock(all = false): Promise<UnlockResult> {
    // Stale locks are dead processes' and may go with any key; live ones only with an admin key.
    if (all) requireAdmin(this, 'unlock --remove-all');
    return removeLocks(this.storage, this.keys.encryption, { all, timing: this.lockTiming });
  }

  /** Throws `role_refused` unless this repository was opened with an admin key; see key-role.ts. */
  requireAdmin(operation: string): void {
    requireAdmin(this, operation);
  }

  /** Wait for conflicting locks this long (see `lock`). */
  lockWaitMs = 0;

  /** Run `fn` holding a lock, and always release it. */
  async withLock<T>(exclusive: boolean, purpose: string, fn: (lock: LockHandle) => Promise<T>): Promise<T> {
    const lock = await this.lock(exclusive, purpose);
    try {
      return await fn(lock);
    } finally {
      await lock.release();
    }
  }

  // ---- sealed, content-addressed objects (index files, snapshots)

  /** Encrypt `plain` and store it under `dir/` named by its hash; the object name. */
  async writeObject(dir: 'index' | 'snapshots' | 'audit' | 'drill', kind: ObjectKind, plain: Buffer): Promise<string> {
    const sealed = seal(this.keys.encryption, kind, plain);
    const id = sha256Hex(sealed);
    await this.storage.put(`${dir}/${id}`, sealed);
    await this.cache?.put(`${dir}/${id}`, sealed);
    return id;
  }

  /** Read (checked against the name by `readThrough`), then decrypt. */
  async readObject(name: string, kind: ObjectKind): Promise<Buffer> {
    const data = await readThrough(this.cache, name, () => this.storage.get(name), this.cacheUse);
    return open(this.keys.encryption, kind, data);
  }

  // ---- index

  /**
   * Load the index files not loaded yet, and forget those that are gone
   * (`IndexFiles`). Returns the index files that could not be read.
   */
  loadIndex(): Promise<IndexProblem[]> {
    return this.indexFiles.load();
  }

  /**
   * Load the index and drop packs that storage no longer holds, so readers use
   * a surviving copy of each blob (e.g. one stored again by a later backup).
   * When packs are missing, the index is loaded again: a prune sweep that ran
   * since the first load replaced them, and the index files naming them.
   */
  async prepareRead(): Promise<PackCheck> {
    if (this.index.packCount === 0) await this.loadIndex();
    tracePhase('index loaded');
    const check = await this.checkPacks();
    if (check.missing.length > 0) await this.loadIndex();
    // Copies that `check --read-data` found damaged are not used (nor deduplicated against).
    await applyKnownDamage(this.cache, this.index);
    tracePhase('packs listed');
    return check;
  }

  /**
   * Run `fn` with a write session (write-session.ts): the one way blobs are
   * stored. `purpose` names the session (`backup`, `copy`, `repack`, …).
   */
  withWriter<T>(
    purpose: string,
    fn: (writer: BlobWriter) => Promise<T>,
    options?: WriterOptions,
  ): Promise<WriteSessionResult<T>> {
    return withWriteSession(this, purpose, fn, options);
  }

  /** Write an index file naming `packs` and their blobs; its name, or undefined when there was nothing to write. */
  async saveIndex(packs: IndexedPack[]): Promise<string | undefined> {
    if (packs.length === 0) return undefined;
    const id = await this.writeObject('index', 'index', encodeIndexFile({ supersedes: [], packs }));
    // A repository with write-only keys (format version 2): they deduplicate against this index's sidecar.
    if (this.config.version >= WRITE_ONLY_FORMAT_VERSION)
      await writePresence(this.storage, derivePresenceKey(this.keys.master), id, packs);
    return id;
  }

  /**
   * Compare the index with what storage holds. Packs that are missing or of the
   * wrong size are excluded from the index, so their blobs are stored again.
   */
  async checkPacks(): Promise<PackCheck> {
    const listed = await this.storage.list('data/');
    const sizes = new Map(listed.map((o) => [o.name.slice(o.name.lastIndexOf('/') + 1), o.size]));
    const missing: string[] = [];
    const wrongSize: string[] = [];
    for (const id of this.index.packIds()) {
      const size = sizes.get(id);
      if (size === undefined) missing.push(id);
      else if (size !== this.index.packSize(id)) wrongSize.push(id);
      sizes.delete(id);
    }
    this.index.excludePacks([...missing, ...wrongSize]);
    return { missing, wrongSize, unindexed: [...sizes.keys()] };
  }

  // ---- blobs and trees

  /** Read one blob's sealed bytes from a pack (still encrypted). */
  async readPackRange(packId: string, offset: number, length: number, type: BlobType): Promise<Buffer> {
    const name = packObjectName(packId);
    if (type === BlobType.Tree) {
      const pack = await this.treePack(packId);
      if (offset + length > pack.length)
        throw new LifeboatError(ErrorCode.Corrupt, `pack ${packId.slice(0, 12)} is shorter than the index says`, {
          context: { pack: packId },
        });
      return pack.subarray(offset, offset + length);
    }
    return this.storage.getRange(name, offset, length);
  }

  /**
   * A whole tree pack, from memory, the local cache or storage. Only a pack
   * that matches its name is cached; a damaged one is still served from memory,
   * because each tree blob is authenticated on its own when it is opened: one
   * damaged byte then costs the directory it hits, not every tree of the pack.
   */
  private async treePack(packId: string): Promise<Buffer> {
    const held = this.treePacks.get(packId);
    if (held) return held;
    const name = packObjectName(packId);
    let pack = this.cacheUse === 'trust' ? await this.cache?.get(name) : undefined;
    if (!pack) {
      pack = await this.storage.get(name);
      // Fetched once more when it does not match its name: damage on the way is not damage in storage.
      if (sha256Hex(pack) !== packId) pack = await this.storage.get(name);
      // A damaged pack is still read tree by tree (each tree authenticates on its own); only an intact one is cached.
      if (sha256Hex(pack) === packId) await this.cache?.put(name, pack);
    }
    if (this.treePackBytes + pack.length > 256 * 1024 * 1024) {
      this.treePacks.clear();
      this.treePackBytes = 0;
    }
    this.treePacks.set(packId, pack);
    this.treePackBytes += pack.length;
    return pack;
  }

  /**
   * A read found `packId` gone (not-found from storage) although the index
   * named it: a prune sweep deleted it after copying its blobs elsewhere, or
   * it was lost. Unless a load of the index that ran meanwhile accounts for
   * it, load the index again — one load serves every reader that finds packs
   * gone while it runs — and set the pack aside, so lookups give the blobs'
   * new locations (or none, if nothing else holds them).
   */
  packGone(packId: string): Promise<void> {
    let handled = this.gonePacks.get(packId);
    if (!handled) {
      const mark = this.indexFiles.mark();
      handled = (async () => {
        await this.indexFiles.settled();
        if (!this.index.isExcluded(packId)) await this.indexFiles.loadAfter(mark);
        this.index.excludePacks([packId]);
      })();
      this.gonePacks.set(packId, handled);
      // A failed load may be tried again by the next reader that finds the pack gone.
      handled.catch(() => this.gonePacks.delete(packId));
    }
    return handled;
  }

  /** Where a blob is, if a pack not set aside holds it. */
  locate(id: BlobId): BlobLocation | undefined {
    return this.index.lookup(id);
  }

  /** Read many blobs in pack ranges, following blobs whose pack has gone (`readRanges`). */
  readRanges(
    locations: BlobLocation[],
    options: RangeReadOptions,
    use: RangeUse,
    fail: (blob: BlobLocation, err: LifeboatError) => void,
  ): Promise<void> {
    return readRanges(this, locations, options, use, fail);
  }

  /**
   * Read one blob on the calling thread (trees, small reads), following it if
   * its pack has gone. A copy that fails authentication is set aside as damaged
   * and the next copy is tried; with none left, the first damage is the error.
   */
  async readBlob(id: BlobId): Promise<Buffer> {
    let damage: LifeboatError | undefined;
    for (;;) {
      const loc = this.index.lookup(id);
      if (!loc) throw damage ?? missingBlob(id);
      // Ends: each pass sets a pack or a damaged copy aside, and lookups never give those.
      try {
        const sealed = await this.readPackRange(loc.packId, loc.offset, loc.length, loc.type);
        try {
          return this.openLocated(loc, sealed);
        } catch (err) {
          if (!isLifeboatError(err, ErrorCode.Corrupt)) throw err;
          // Read once more: bytes damaged on the way are not damage in storage; damage that stays is.
          return this.openLocated(loc, await this.readPackRange(loc.packId, loc.offset, loc.length, loc.type));
        }
      } catch (err) {
        if (isLifeboatError(err, ErrorCode.NotFound)) {
          await this.packGone(loc.packId);
          continue;
        }
        if (!isLifeboatError(err, ErrorCode.Corrupt)) throw err;
        this.index.markDamaged(id, loc.packId);
        damage ??= err;
      }
    }
  }

  /**
   * A whole pack from storage (never the cache), and whether it matches its
   * name. A pack that does not is read once more before it counts as damaged
   * (bytes damaged on the way are not damage in storage).
   */
  async readWholePack(packId: string): Promise<{ bytes: Buffer; intact: boolean }> {
    const name = packObjectName(packId);
    let bytes = await this.storage.get(name);
    if (sha256Hex(bytes) !== packId) bytes = await this.storage.get(name);
    return { bytes, intact: sha256Hex(bytes) === packId };
  }

  /** Decrypt and authenticate a blob read from its pack, and check it against its id. */
  openLocated(loc: BlobLocation, sealed: Buffer): Buffer {
    try {
      return openBlob(this.keys.encryption, this.keys.blobId, this.compressor, loc.id, sealed, loc.rawLength);
    } catch (err) {
      if (isLifeboatError(err)) err.context.pack ??= loc.packId;
      throw err;
    }
  }

  /** The tree (one directory of a snapshot) with this id, authenticated. */
  async loadTree(idHex: string): Promise<Tree> {
    const cached = this.trees.get(idHex);
    if (cached) return cached;
    const tree = decodeTree(await this.readBlob(blobIdFromHex(idHex)), idHex);
    if (this.trees.size > 4096) this.trees.clear();
    this.trees.set(idHex, tree);
    return tree;
  }

  /** Seal a blob on the calling thread (trees and other small blobs). */
  sealOnMain(data: Buffer, id: BlobId = this.blobIdOf(data)): { id: BlobId; sealed: Buffer; rawLength: number } {
    return sealVerified(this.keys.encryption, this.compressor, id, data);
  }

  /** The id of a blob: the repository's keyed hash of its content. */
  blobIdOf(data: Buffer): BlobId {
    return blobId(this.keys.blobId, data);
  }

  /** A tree in its stored form (the bytes whose id names it). */
  encodeTree(tree: Tree): Buffer {
    return encodeTree(tree);
  }

  // ---- snapshots

  /** Every snapshot of the repository, and the snapshot objects that could not be read. */
  async listSnapshots(): Promise<ListedSnapshots> {
    const files = await this.storage.list('snapshots/');
    const problems: ListedSnapshots['problems'] = [];
    const loaded = await mapLimit(files, 16, async (f) => {
      const id = f.name.slice('snapshots/'.length);
      try {
        return parseSnapshot(await this.readObject(f.name, 'snapshot'), id);
      } catch (err) {
        if (!isLifeboatError(err)) throw err;
        problems.push({ name: f.name, error: err });
        return undefined;
      }
    });
    const snapshots = loaded.filter((s): s is SnapshotEntry => s !== undefined);
    snapshots.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : a.id < b.id ? -1 : 1));
    return { snapshots, problems };
  }

  /** Store a snapshot; its id. */
  async saveSnapshot(snapshot: Snapshot): Promise<string> {
    return this.writeObject('snapshots', 'snapshot', Buffer.from(JSON.stringify(snapshot)));
  }

  // ---- keys

  /** The key slots of the repository (who can open it), each marked readable or damaged. */
  async listKeys(): Promise<
    Array<{
      name: string;
      id: string;
      createdAt?: string;
      host?: string;
      username?: string;
      label?: string;
      /** The role the slot gives; for a slot other than the current one, as its clear field claims. */
      role?: KeyRole;
      current: boolean;
      readable: boolean;
    }>
  > {
    const objects = await this.storage.list('keys/');
    return Promise.all(
      objects.map(async (o) => {
        const id = o.name.slice('keys/'.length);
        try {
          const slot = parseKeySlot(await this.storage.get(o.name), id);
          return {
            name: o.name,
            id,
            createdAt: slot.createdAt,
            host: slot.host,
            username: slot.username,
            label: slot.label,
            // The current slot's role was authenticated when it opened; the others' cannot be without their password.
            role: o.name === this.keyName ? this.role : claimedRole(slot),
            current: o.name === this.keyName,
            readable: true,
          };
        } catch {
          return { name: o.name, id, current: o.name === this.keyName, readable: false };
        }
      }),
    );
  }

  /** Add a key slot that `password` opens, with `role`; its name. Only an admin key may. */
  async addKey(password: Buffer, label?: string, role: KeyRole = 'admin'): Promise<string> {
    requireAdmin(this, 'key add');
    const slot =
      role === 'write-only'
        ? await this.prepareWriteOnly(password, label)
        : await createKeySlot(this.keys.master, password, label, role);
    const name = `keys/${randomId()}`;
    await this.storage.put(name, Buffer.from(JSON.stringify(slot, null, 2)));
    return name.slice('keys/'.length);
  }

  /**
   * What a write-only key needs before its slot exists: the config at format
   * version 2 (older readers then refuse the repository instead of meeting
   * version 2 envelopes), and a presence sidecar for every index file. Then its slot.
   */
  private async prepareWriteOnly(password: Buffer, label: string | undefined) {
    if (this.config.version < WRITE_ONLY_FORMAT_VERSION) {
      const upgraded = { ...this.config, version: WRITE_ONLY_FORMAT_VERSION };
      await this.storage.put('config', seal(this.keys.encryption, 'config', Buffer.from(JSON.stringify(upgraded))));
      this.config.version = WRITE_ONLY_FORMAT_VERSION;
    }
    const presenceKey = derivePresenceKey(this.keys.master);
    await mapLimit(await indexesWithoutPresence(this.storage), 8, async (id) => {
      const file = decodeIndexFile(await this.readObject(`index/${id}`, 'index'));
      await writePresence(this.storage, presenceKey, id, file.packs);
    });
    const { id, version, chunker, compression, packSize } = this.config;
    return createWriteOnlySlot(
      newWriteOnlyKey(this.keys.master, { id, version, chunker, compression, packSize }),
      password,
      label,
    );
  }

  /** Remove a key slot by id or unique prefix; the last readable key can never be removed. */
  async removeKey(ref: string): Promise<string> {
    requireAdmin(this, 'key remove');
    const keys = await this.listKeys();
    const matches = keys.filter((k) => k.id.startsWith(ref));
    if (matches.length !== 1) {
      throw new LifeboatError(
        matches.length ? ErrorCode.Usage : ErrorCode.NotFound,
        matches.length ? `${ref} matches ${matches.length} keys` : `no key has an id starting with ${ref}`,
        {
          hint: 'list keys with `lifeboat key list`',
        },
      );
    }
    const target = matches[0]!;
    const others = keys.filter((k) => k.readable && k.id !== target.id);
    if (others.length === 0) {
      throw new LifeboatError(
        ErrorCode.Refused,
        'refusing to remove the last key: the repository would be unreadable forever',
        {
          hint: 'add another key first with `lifeboat key add`',
        },
      );
    }
    await this.storage.remove(target.name);
    return target.id;
  }
}

function cacheFor(options: OpenOptions, repositoryId: string): ObjectCache | undefined {
  return options.cacheRoot ? new ObjectCache(options.cacheRoot, repositoryId) : undefined;
}
