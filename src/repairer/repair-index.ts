import { ErrorCode, isLifeboatError } from '../errors/index.js';
import { type IndexedPack, decodeSealedPackHeader, packHeaderLength } from '../repository/format/index.js';
import { packObjectName } from '../repository/ids.js';
import { removePresenceOf } from '../repository/presence.js';
import type { Repository } from '../repository/repository.js';
import { mapLimit } from '../util/map-limit.js';

export interface RepairIndexOptions {
  /** Read and report, write and remove nothing. */
  dryRun?: boolean;
  onProgress?: (p: { packsRead: number; packsTotal: number }) => void;
}

export interface RepairIndexReport {
  dryRun: boolean;
  /** Packs in storage. */
  packsListed: number;
  /** Packs the new index names. */
  packsIndexed: number;
  blobs: number;
  /** Packs whose header is damaged but that a readable index file already described: its entries are kept. */
  fromOldIndex: string[];
  /** Packs whose header cannot be read and that no readable index file describes: left out. */
  unreadable: Array<{ pack: string; message: string }>;
  /** Index files that could not be read before the repair. */
  unreadableIndexFiles: Array<{ name: string; message: string }>;
  /** Index files written (none on a dry run). */
  written: string[];
  /** Index files removed (replaced by the written ones), or that would be on a dry run. */
  removed: string[];
}

/** Packs per written index file: keeps each file a few MiB at most. */
const PACKS_PER_FILE = 4096;

/**
 * Rebuild the index from the packs themselves: list `data/`, read and
 * authenticate every pack header, write new index files naming every pack
 * found, and only once they are durable remove the index files they replace
 * (all that were listed before). A pack whose header is damaged keeps the
 * entries a readable old index file gave it; with none it is reported and left
 * out. Runs under the exclusive lock: no backup may add packs meanwhile.
 */
export async function repairIndex(repo: Repository, options: RepairIndexOptions = {}): Promise<RepairIndexReport> {
  repo.requireAdmin('repair index');
  return repo.withLock(true, 'repair index', async (lock) => {
    const oldFiles = (await repo.storage.list('index/')).map((o) => o.name);
    const problems = await repo.loadIndex();
    const listed = await repo.storage.list('data/');
    const report: RepairIndexReport = {
      dryRun: Boolean(options.dryRun),
      packsListed: listed.length,
      packsIndexed: 0,
      blobs: 0,
      fromOldIndex: [],
      unreadable: [],
      unreadableIndexFiles: problems.map((p) => ({ name: p.name, message: p.error.message })),
      written: [],
      removed: [],
    };
    const known = knownPacks(repo);
    let packsRead = 0;
    const packs = await mapLimit(listed, 4, async (object): Promise<IndexedPack | undefined> => {
      const packId = object.name.slice(object.name.lastIndexOf('/') + 1);
      try {
        return { id: packId, size: object.size, blobs: await readHeader(repo, packId, object.size) };
      } catch (err) {
        if (!isLifeboatError(err) || (err.code !== ErrorCode.Corrupt && err.code !== ErrorCode.UnsupportedVersion))
          throw err;
        const old = known.get(packId);
        if (old && old.size === object.size) {
          report.fromOldIndex.push(packId);
          return old;
        }
        report.unreadable.push({ pack: packId, message: `its header cannot be read: ${err.message}` });
        return undefined;
      } finally {
        options.onProgress?.({ packsRead: ++packsRead, packsTotal: listed.length });
      }
    });
    const found = packs.filter((p): p is IndexedPack => p !== undefined).sort((a, b) => (a.id < b.id ? -1 : 1));
    report.packsIndexed = found.length;
    report.blobs = found.reduce((n, p) => n + p.blobs.length, 0);
    report.removed = oldFiles;
    if (options.dryRun) return report;

    // The new files first; the old ones go only once every new one is durable.
    for (let i = 0; i < found.length; i += PACKS_PER_FILE) {
      const id = await repo.saveIndex(found.slice(i, i + PACKS_PER_FILE));
      if (id) report.written.push(`index/${id}`);
    }
    await lock.assertHeld();
    for (const name of oldFiles) {
      await repo.storage.remove(name).catch((err: unknown) => {
        if (!isLifeboatError(err, ErrorCode.NotFound)) throw err; // already gone: nothing to replace
      });
      await removePresenceOf(repo.storage, name);
    }
    return report;
  });
}

/** Read a pack's trailer and header with two range reads and authenticate the header. */
async function readHeader(repo: Repository, packId: string, size: number): Promise<IndexedPack['blobs']> {
  const name = packObjectName(packId);
  const headerLength = packHeaderLength(
    size >= 4 ? await repo.storage.getRange(name, size - 4, 4) : Buffer.alloc(0),
    size,
  );
  const headerStart = size - 4 - headerLength;
  return decodeSealedPackHeader(
    repo.keys.encryption,
    await repo.storage.getRange(name, headerStart, headerLength),
    headerStart,
  );
}

/** What the readable index files said about each pack. */
function knownPacks(repo: Repository): Map<string, IndexedPack> {
  const out = new Map<string, IndexedPack>();
  for (const loc of repo.index.entries()) {
    let pack = out.get(loc.packId);
    if (!pack) {
      pack = { id: loc.packId, size: repo.index.packSize(loc.packId) ?? -1, blobs: [] };
      out.set(loc.packId, pack);
    }
    pack.blobs.push({ type: loc.type, id: loc.id, offset: loc.offset, length: loc.length, rawLength: loc.rawLength });
  }
  return out;
}
