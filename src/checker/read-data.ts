import { isLifeboatError } from '../errors/index.js';
import { blobKey } from '../repository/index/index.js';
import { decodePackHeader, type BlobLocation } from '../repository/format/index.js';
import type { Repository } from '../repository/repository.js';
import { mapLimit } from '../util/map-limit.js';
import type { Finding } from './findings.js';

/**
 * Read packs whole from storage (`readWholePack`: a pack that does not match
 * its name is read once more before it counts as damaged): check each against its name, its header against the index,
 * and decrypt and authenticate every blob. Returns the keys of damaged blobs.
 */
export async function readPacks(
  repo: Repository,
  packIds: string[],
  findings: Finding[],
  onPack?: (bytes: number) => void,
): Promise<{ damaged: Map<string, string>; bytes: number }> {
  const byPack = new Map<string, BlobLocation[]>();
  for (const loc of repo.index.entries()) {
    const list = byPack.get(loc.packId) ?? [];
    list.push(loc);
    byPack.set(loc.packId, list);
  }
  const damaged = new Map<string, string>();
  let bytes = 0;
  await mapLimit(packIds, 2, async (packId) => {
    let pack: Buffer;
    let intact: boolean;
    try {
      ({ bytes: pack, intact } = await repo.readWholePack(packId));
    } catch (err) {
      findings.push({
        severity: 'error',
        kind: 'missing-pack',
        pack: packId,
        message: `pack ${packId.slice(0, 12)} cannot be read: ${(err as Error).message}`,
      });
      for (const b of byPack.get(packId) ?? []) damaged.set(blobKey(b.id), packId);
      return;
    }
    bytes += pack.length;
    onPack?.(pack.length);
    if (!intact)
      findings.push({
        severity: 'error',
        kind: 'corrupt-pack',
        pack: packId,
        message: `pack ${packId.slice(0, 12)} does not match its content hash (damaged in storage)`,
      });
    else {
      try {
        const header = decodePackHeader(repo.keys.encryption, pack);
        const listed = new Set(header.map((e) => blobKey(e.id)));
        const missing = (byPack.get(packId) ?? []).filter((b) => !listed.has(blobKey(b.id)));
        if (missing.length)
          findings.push({
            severity: 'error',
            kind: 'corrupt-pack',
            pack: packId,
            message: `pack ${packId.slice(0, 12)} header lacks ${missing.length} blobs the index lists`,
          });
      } catch (err) {
        findings.push({
          severity: 'error',
          kind: 'corrupt-pack',
          pack: packId,
          message: `pack ${packId.slice(0, 12)} header is unreadable: ${(err as Error).message}`,
        });
      }
    }
    // Authenticate blob by blob, so the damage is pinned to the blobs (and files) it hits.
    const blobs = byPack.get(packId) ?? [];
    const opened = await repo.pool.open(
      pack,
      blobs.map((b) => ({ id: b.id, offset: b.offset, length: b.length, rawLength: b.rawLength, verifyContent: true })),
    );
    opened.forEach((r, j) => {
      if (!('data' in r)) damaged.set(blobKey(blobs[j]!.id), packId);
    });
  });
  return { damaged, bytes };
}

export function isCorruptError(err: unknown): boolean {
  return isLifeboatError(err) && (err.code === 'corrupt' || err.code === 'not_found');
}
