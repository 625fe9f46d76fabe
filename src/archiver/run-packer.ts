import { Packer } from '../repository/packer.js';
import type { Repository } from '../repository/repository.js';

/** Durable packs not yet named by an index file, at most, before one is written. */
const INDEX_EVERY = 64;

/**
 * The packer of one writing run (a backup, a copy): packs are indexed as they
 * become durable, so the data of an interrupted run is found — and not
 * uploaded again — by the next one.
 */
export function newRunPacker(repo: Repository): Packer {
  return new Packer({
    storage: repo.storage,
    encryptionKey: repo.keys.encryption,
    index: repo.index,
    packSize: repo.config.packSize,
    cache: repo.cache,
    onPackStored: async (_pack, self) => {
      if (self.storedCount < INDEX_EVERY) return;
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
 * packs already durable so a rerun reuses them — before the lock is released.
 */
export async function keepDurablePacks(repo: Repository, packer: Packer): Promise<void> {
  await packer.stop();
  await repo.saveIndex(packer.takeStoredPacks()).catch(() => undefined);
}
