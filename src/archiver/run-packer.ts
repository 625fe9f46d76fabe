import type { LockHandle } from '../repository/locks.js';
import { Packer } from '../repository/packer.js';
import type { Repository } from '../repository/repository.js';

/** Durable packs not yet named by an index file, at most, before one is written. */
const INDEX_EVERY = 64;

/**
 * The packer of one writing run (a backup, a copy): packs are indexed as they
 * become durable, so the data of an interrupted run is found — and not
 * uploaded again — by the next one. An index file is written only while the
 * run provably holds its lock: once the lock is lost, a sweep may have deleted
 * the run's unindexed packs as garbage, and naming them in an index would
 * leave entries for packs that are gone (check: lost data).
 */
export function newRunPacker(repo: Repository, lock: LockHandle): Packer {
  return new Packer({
    storage: repo.storage,
    encryptionKey: repo.keys.encryption,
    index: repo.index,
    packSize: repo.config.packSize,
    cache: repo.cache,
    onPackStored: async (_pack, self) => {
      if (self.storedCount < INDEX_EVERY) return;
      await lock.assertHeld();
      const batch = self.takeStoredPacks();
      try {
        await repo.saveIndex(batch);
      } catch (err) {
        self.returnStoredPacks(batch); // indexed with the next batch, or at the end
        throw err;
      }
    },
  });
}

/**
 * A failed or interrupted run: stop storing, then index (best effort) the
 * packs already durable so a rerun reuses them — before the lock is released,
 * and only if it is still held (else they stay unindexed, for prune to reclaim).
 */
export async function keepDurablePacks(repo: Repository, packer: Packer, lock: LockHandle): Promise<void> {
  await packer.stop();
  const held = await lock.assertHeld().then(
    () => true,
    () => false,
  );
  if (held) await repo.saveIndex(packer.takeStoredPacks()).catch(() => undefined);
}
