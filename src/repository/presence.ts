/**
 * Presence sidecars (`presence/<index id>`, format document §7b): the blob ids
 * one index file names, sealed under the presence key. They let a write-only
 * key deduplicate — know whether a blob exists — without reading index files,
 * which would tell it where blobs are and how long they are. A sidecar counts
 * only while its index file exists: one left behind by prune (its index was
 * replaced) is ignored, so a write-only host never skips a blob that prune
 * removed.
 *
 * @module
 */

import type { Storage } from '../storage/contract.js';
import { open, seal } from './crypto/index.js';
import { BlobType, type IndexedPack } from './format/index.js';
import type { MasterIndex } from './index/index.js';
import { ID_BYTES } from './ids.js';
import { mapLimit } from '../util/map-limit.js';
import { ErrorCode, isLifeboatError, LifeboatError } from '../errors/index.js';

export const PRESENCE_DIR = 'presence/';

/** Seal and store the sidecar of index file `indexId`. */
export async function writePresence(
  storage: Storage,
  presenceKey: Buffer,
  indexId: string,
  packs: readonly IndexedPack[],
): Promise<void> {
  const ids = Buffer.concat(packs.flatMap((p) => p.blobs.map((b) => b.id)));
  await storage.put(`${PRESENCE_DIR}${indexId}`, seal(presenceKey, 'presence', ids, Buffer.from(indexId, 'hex')));
}

/** The index ids of `index/` that have no sidecar yet. */
export async function indexesWithoutPresence(storage: Storage): Promise<string[]> {
  const [indexes, sidecars] = await Promise.all([storage.list('index/'), storage.list(PRESENCE_DIR)]);
  const have = new Set(sidecars.map((o) => o.name.slice(PRESENCE_DIR.length)));
  return indexes.map((o) => o.name.slice('index/'.length)).filter((id) => !have.has(id));
}

/**
 * Add every blob id the sidecars of existing index files name to `index`, as
 * known (its location stays unknown: a write-only key never reads blobs).
 * Index files without a sidecar, and sidecars that do not authenticate, are
 * counted and otherwise skipped: their blobs count as unknown and are stored
 * again — a duplicate, never a loss.
 */
export async function loadPresence(
  storage: Storage,
  presenceKey: Buffer,
  index: MasterIndex,
): Promise<{ sidecars: number; withoutSidecar: number; damaged: string[] }> {
  const [indexes, sidecars] = await Promise.all([storage.list('index/'), storage.list(PRESENCE_DIR)]);
  const live = new Set(indexes.map((o) => o.name.slice('index/'.length)));
  const used = sidecars.map((o) => o.name.slice(PRESENCE_DIR.length)).filter((id) => live.has(id));
  const damaged: string[] = [];
  await mapLimit(used, 16, async (indexId) => {
    const name = `${PRESENCE_DIR}${indexId}`;
    let ids: Buffer;
    try {
      ids = open(presenceKey, 'presence', await storage.get(name), Buffer.from(indexId, 'hex'));
      if (ids.length % ID_BYTES !== 0) throw new LifeboatError(ErrorCode.Corrupt, `${name} is truncated`);
    } catch (err) {
      if (!isLifeboatError(err, ErrorCode.Corrupt) && !isLifeboatError(err, ErrorCode.NotFound)) throw err;
      damaged.push(name);
      return;
    }
    const blobs = [];
    for (let at = 0; at < ids.length; at += ID_BYTES) {
      // Type and place are not known to a write-only key; only `has` is asked of these entries.
      blobs.push({ type: BlobType.Data, id: ids.subarray(at, at + ID_BYTES), offset: 0, length: 0, rawLength: 0 });
    }
    index.addPack({ id: `presence:${indexId}`, size: 0, blobs });
  });
  return { sidecars: used.length - damaged.length, withoutSidecar: live.size - used.length, damaged };
}

/** Remove the sidecar of a removed index file (`index/<id>`), if it has one. */
export async function removePresenceOf(storage: Storage, indexName: string): Promise<void> {
  await storage.remove(`${PRESENCE_DIR}${indexName.slice('index/'.length)}`).catch((err: unknown) => {
    if (!isLifeboatError(err, ErrorCode.NotFound)) throw err;
  });
}
