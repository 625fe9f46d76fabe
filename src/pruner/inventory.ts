/**
 * Everything prune decides on, loaded in full or not at all: any listing
 * error, unreadable index file, unreadable snapshot or unreadable tree rejects,
 * because deleting on incomplete knowledge is how backups get destroyed.
 *
 * @module
 */

import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import { decodeIndexFile, type IndexedPack, parseSnapshot, type SnapshotEntry } from '../repository/format/index.js';
import { blobKey } from '../repository/index/index.js';
import { listConsistently } from '../repository/consistent-listing.js';
import { packObjectName } from '../repository/ids.js';
import type { ListedSnapshots, Repository } from '../repository/repository.js';
import type { ObjectInfo } from '../storage/contract.js';
import { mapLimit } from '../util/map-limit.js';
import type { StoredRecord } from './record.js';
import { referencedBlobs } from './references.js';
import { assertNoSnapshotVanished, knownSnapshots } from './snapshot-guard.js';

export interface Inventory {
  /** Index files read (`index/<id>`). */
  indexFiles: string[];
  /** Indexed packs by id (the first record seen for a pack). */
  packs: Map<string, IndexedPack>;
  /** Pack ids named by more than one index file. */
  repeatedPacks: number;
  /** Stored size of every object under `data/`, by pack id. */
  stored: Map<string, number>;
  /** Pack ids holding a copy of each blob (by blob key), in index order. */
  copies: Map<string, string[]>;
  /** Blob keys referenced by the snapshots: data blobs and trees. */
  used: Set<string>;
  snapshots: number;
  /** Ids of the snapshots listed. */
  snapshotIds: string[];
}

export interface LoadOptions {
  /** Taken under the exclusive lock: nothing may appear between two listings either. */
  exclusive: boolean;
  /** The prune records, whose snapshot sets say what must still be listed. */
  records: StoredRecord[];
  onTree?: () => void;
}

export function isHealthy(inv: Inventory, packId: string): boolean {
  const pack = inv.packs.get(packId);
  return pack !== undefined && inv.stored.get(packId) === pack.size;
}

/** Packs in storage that no index names. */
export function unindexedPacks(inv: Inventory): string[] {
  return [...inv.stored.keys()].filter((id) => !inv.packs.has(id));
}

/** Indexed packs that storage lacks. */
export function missingPacks(inv: Inventory): string[] {
  return [...inv.packs.keys()].filter((id) => !inv.stored.has(id));
}

export async function loadInventory(repo: Repository, o: LoadOptions): Promise<Inventory> {
  // Order matters while backups run: snapshots, then index files, then packs. A snapshot is
  // written after its index files, and an index file after its packs, so everything a listed
  // snapshot needs is in the later listings. Each listing is taken twice (consistent-listing.ts).
  const listed = await readSnapshots(repo, await listConsistently(repo.storage, 'snapshots/', o.exclusive));
  const bad = listed.problems[0];
  if (bad) {
    throw new LifeboatError(
      ErrorCode.Refused,
      `prune refused: snapshot ${bad.name} is unreadable (${bad.error.message}); its data cannot be told apart from garbage`,
      {
        hint: 'run `lifeboat check`; remove the damaged snapshot object before pruning',
        cause: bad.error,
      },
    );
  }
  await assertNoSnapshotVanished(repo, listed.snapshots, knownSnapshots(o.records, listed.snapshots));
  const indexFiles = (await listConsistently(repo.storage, 'index/', o.exclusive)).map((file) => file.name);
  const decoded = await mapLimit(indexFiles, 8, async (name) => {
    try {
      return decodeIndexFile(await repo.readObject(name, 'index'));
    } catch (err) {
      throw new LifeboatError(
        ErrorCode.Refused,
        `prune refused: index file ${name} is unreadable (${(err as Error).message})`,
        {
          hint: 'run `lifeboat check`; prune needs a complete index',
          cause: err,
        },
      );
    }
  });
  const stored = new Map<string, number>();
  for (const pack of await listConsistently(repo.storage, 'data/', o.exclusive))
    stored.set(pack.name.slice(pack.name.lastIndexOf('/') + 1), pack.size);
  const packs = new Map<string, IndexedPack>();
  const copies = new Map<string, string[]>();
  let repeatedPacks = 0;
  for (const file of decoded) {
    for (const pack of file.packs) {
      if (packs.has(pack.id)) {
        repeatedPacks++;
        continue;
      }
      packs.set(pack.id, pack);
      repo.index.addPack(pack);
      for (const b of pack.blobs) {
        const key = blobKey(b.id);
        const list = copies.get(key);
        if (list) {
          if (!list.includes(pack.id)) list.push(pack.id);
        } else copies.set(key, [pack.id]);
      }
    }
  }
  const inv: Inventory = {
    indexFiles,
    packs,
    repeatedPacks,
    stored,
    copies,
    used: new Set(),
    snapshots: listed.snapshots.length,
    snapshotIds: listed.snapshots.map((s) => s.id),
  };
  await assertMissingPacksAreGone(repo, inv);
  // Trees are read through the repository's index: only from intact packs.
  repo.index.excludePacks([...packs.keys()].filter((id) => !isHealthy(inv, id)));
  inv.used = await referencedBlobs(repo, listed.snapshots, o.onTree);
  for (const key of inv.used) {
    if (!(copies.get(key) ?? []).some((p) => isHealthy(inv, p))) {
      const id = Buffer.from(key, 'latin1').toString('hex');
      throw new LifeboatError(
        ErrorCode.Refused,
        `prune refused: blob ${id.slice(0, 12)} is referenced by a snapshot but no intact pack holds it`,
        {
          hint: 'run `lifeboat check` to see which snapshots and paths are affected; prune needs a complete index',
          context: { blob: id },
        },
      );
    }
  }
  return inv;
}

/** The snapshots of a listing, read and parsed; the unreadable ones as problems. */
async function readSnapshots(repo: Repository, files: ObjectInfo[]): Promise<ListedSnapshots> {
  const problems: ListedSnapshots['problems'] = [];
  const loaded = await mapLimit(files, 16, async (f) => {
    try {
      return parseSnapshot(await repo.readObject(f.name, 'snapshot'), f.name.slice('snapshots/'.length));
    } catch (err) {
      if (!isLifeboatError(err)) throw err;
      problems.push({ name: f.name, error: err });
      return undefined;
    }
  });
  return { snapshots: loaded.filter((s): s is SnapshotEntry => s !== undefined), problems };
}

/**
 * Indexed packs the `data/` listing lacks are treated as lost (consolidation
 * drops them from the index), so each is looked up by name first: one that is
 * there means the listing is short, and nothing may be decided on it.
 */
async function assertMissingPacksAreGone(repo: Repository, inv: Inventory): Promise<void> {
  const found = (
    await mapLimit(missingPacks(inv), 8, async (id) => {
      try {
        await repo.storage.stat(packObjectName(id));
        return id;
      } catch (err) {
        if (!isLifeboatError(err, ErrorCode.NotFound)) throw err;
        return undefined;
      }
    })
  ).filter((id): id is string => id !== undefined);
  if (found.length === 0) return;
  throw new LifeboatError(
    ErrorCode.Refused,
    `prune refused: ${found.length} pack(s) named by the index exist but the listing of data/ left them out (${found
      .slice(0, 3)
      .map((id) => id.slice(0, 12))
      .join(', ')}); nothing was deleted`,
    {
      hint: 'the storage returns incomplete listings, so no deletion can be trusted; check the endpoint or server, then run `lifeboat check` and prune again',
      context: { packs: found },
    },
  );
}
