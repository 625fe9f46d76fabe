/**
 * The Storage contract: dumb, opaque, named objects. Drivers know nothing of
 * encryption, packs or snapshots — the repository layer adds all of that.
 *
 * Names are relative, '/'-separated paths of [A-Za-z0-9._-] segments such as
 * `config`, `keys/<hex>`, `data/ab/<hex>`, `index/<hex>`, `snapshots/<hex>`,
 * `locks/<hex>`. Drivers must reject any other name (`..`, empty segments,
 * leading '/') with a LifeboatError of code `storage`.
 *
 * Errors: a missing object is a LifeboatError with code `not_found`; every other
 * failure is a LifeboatError with code `storage` whose `retryable` says whether
 * a retry may help. A driver never returns partial data as success.
 *
 * @module
 */

/** One object of a storage listing: its name and size in bytes. */
export interface ObjectInfo {
  /** Full object name, e.g. `data/ab/ab12…`. */
  name: string;
  /** Size in bytes. */
  size: number;
}

/** Space used by the repository, and free and total on its medium, where the backend can tell. */
export interface SpaceInfo {
  /** Bytes used by the repository's objects, when known. */
  usedBytes?: number;
  /** Bytes still free on the underlying medium, when known. */
  availableBytes?: number;
  /** Total capacity of the medium, when known. */
  totalBytes?: number;
}

/** What `removeStaleTemporaries` found (and removed, unless it was a dry run). */
export interface StaleTemporaries {
  count: number;
  bytes: number;
}

/** A writer is never this slow to rename its temporary: older ones belong to writers that were killed. */
export const STALE_TEMPORARY_AGE_MS = 3600_000;

/** Where a repository's objects live (local directory, SFTP, S3, memory): the few operations the repository needs from a backend. */
export interface Storage {
  /** A display form of the location with any credentials removed. */
  readonly location: string;

  /**
   * Store `data` under `name`. When the promise resolves the object is durable
   * (fsync'd or acknowledged by the remote) and readers see either nothing or the
   * whole object — never a prefix. Writing an existing name replaces it
   * atomically. Safe to call concurrently for different names.
   */
  put(name: string, data: Uint8Array): Promise<void>;

  /** The whole object. Rejects with `not_found` when absent. */
  get(name: string): Promise<Buffer>;

  /**
   * `length` bytes starting at `offset`. Rejects with `not_found` when the
   * object is absent and with `storage` when the range runs past its end
   * (a short read is never returned as success).
   */
  getRange(name: string, offset: number, length: number): Promise<Buffer>;

  /** Size of the object. Rejects with `not_found` when absent. */
  stat(name: string): Promise<ObjectInfo>;

  /**
   * Every object whose name starts with `prefix` (a directory form such as
   * `data/` or `snapshots/`), recursively, in no particular order. Temporary
   * files of in-flight writes are never listed. A listing that cannot be
   * completed rejects — it never resolves with a partial list.
   */
  list(prefix: string): Promise<ObjectInfo[]>;

  /** Remove the object. Removing an absent object succeeds (idempotent). */
  remove(name: string): Promise<void>;

  /**
   * Optional, for backends whose writes go through temporary files
   * (`.tmp-*`, see `names.ts`): remove those older than `olderThanMs` — what
   * writers killed between writing and renaming left; they are never listed,
   * so nothing else ever removes them. Age is measured on the backend's own
   * clock. With `dryRun` they are only counted. Call it while no writer can
   * be active (prune holds the exclusive lock).
   */
  removeStaleTemporaries?(olderThanMs: number, options?: { dryRun?: boolean }): Promise<StaleTemporaries>;

  /**
   * What the server lets this client do, when a server enforces it: a repository server's token
   * role (`admin` or `append`, see docs/storage/repository-server.md). Absent for plain storage.
   */
  readonly accessRole?: string;

  /** Free/used space where the backend can tell; `{}` when it cannot. */
  space(): Promise<SpaceInfo>;

  /** Release connections and handles. The instance is unusable afterwards. */
  close(): Promise<void>;
}

/** Creates a Storage for a parsed location. One per URL scheme, registered in `registry.ts`. */
export type StorageFactory = (url: URL, options: StorageOptions) => Promise<Storage>;

/** How `openStorage` opens a location: create it, and a configured repository's remote settings. */
export interface StorageOptions {
  /** Create the location (directory, bucket prefix) when it does not exist. Used by `init`. */
  create?: boolean;
  /** Settings of a configured repository (lifeboat.yaml `repositories.<name>`) that remote drivers need. */
  remote?: RemoteSettings;
}

/** S3 Object Lock: the retention mode and how many days from the write each object stays locked. */
export interface ObjectLockSettings {
  mode: 'governance' | 'compliance';
  days: number;
}

/**
 * Per-repository settings for remote storage, from lifeboat.yaml. Secrets are
 * never values here, only paths of files that hold them.
 */
export interface RemoteSettings {
  /** S3: endpoint URL (https://s3.eu-central-1.amazonaws.com, http://127.0.0.1:9000). */
  endpoint?: string;
  /** S3: region of the bucket. */
  region?: string;
  /** S3: refuse to write unless the bucket is in one of these regions (data sovereignty). */
  allowedRegions?: string[];
  /** S3: path-style addressing (MinIO and most self-hosted servers). */
  pathStyle?: boolean;
  /** S3: storage class for new objects (STANDARD, STANDARD_IA, …). */
  storageClass?: string;
  /** S3: server-side encryption on top of Lifeboat's own (AES256, aws:kms). */
  serverSideEncryption?: string;
  /** S3: Object Lock retention set on every object written but lock objects and prune records (ADR 0047). */
  objectLock?: ObjectLockSettings;
  /** S3: a file of KEY=VALUE lines (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). */
  credentialsFile?: string;
  /** SFTP: private key file. */
  identityFile?: string;
  /** SFTP: known_hosts file used to verify the server's host key. */
  knownHosts?: string;
  /** SFTP: trust and record an unknown host key on first use (never a changed one). */
  acceptNewHostKey?: boolean;
  /** SFTP: file holding the login password, when keys are not used. */
  passwordFile?: string;
  /** Repository server: file (mode 0600) holding the token; takes precedence over $LIFEBOAT_SERVER_TOKEN_FILE. */
  tokenFile?: string;
}
