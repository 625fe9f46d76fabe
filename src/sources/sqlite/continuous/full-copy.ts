import { open } from 'node:fs/promises';
import type { Repository } from '../../../repository/repository.js';
import { basePartName, baseName } from './stream-names.js';
import { putStreamObject, type BaseManifest } from './stream-objects.js';
import { FRAME_HEADER_BYTES, readCommittedFrames, readWalHeader, type ChainPoint, type WalHeader } from './wal-file.js';

/** Raw bytes per part of a full copy (before compression). */
export const BASE_PART_BYTES = 8 * 1024 * 1024;

export interface FullCopy {
  manifest: BaseManifest;
  header: WalHeader | undefined;
  end: ChainPoint;
  objects: number;
  bytes: number;
}

/**
 * A full copy of the database as of the last commit in its log, taken while
 * the caller holds a read transaction on it: the file is read as it is, then
 * every valid committed frame of the log is laid over it. A checkpoint that
 * copies frames into the file meanwhile copies only frames the log still
 * holds, so what it changed is overwritten with the same pages.
 */
export async function storeFullCopy(
  repo: Repository,
  at: {
    stream: string;
    generation: string;
    index: number;
    dbPath: string;
    fileId: string;
    now: () => number;
    expect?: { salts: [number, number] | null; frame: number };
  },
): Promise<FullCopy | undefined> {
  const db = await open(at.dbPath, 'r');
  let wal;
  try {
    wal = await open(at.dbPath + '-wal', 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    const fileBytes = (await db.stat()).size;
    const head = Buffer.alloc(100);
    await db.read(head, 0, 100, 0);
    const header = wal ? await readWalHeader(wal) : undefined;
    if (at.expect && at.expect.frame > 0) {
      // Within a generation the copy must continue the log read so far.
      if (!header || !at.expect.salts || header.salt1 !== at.expect.salts[0] || header.salt2 !== at.expect.salts[1])
        return undefined;
    }
    const rawPage = head.readUInt16BE(16);
    const pageSize = header?.pageSize ?? (fileBytes >= 100 ? (rawPage === 1 ? 65536 : rawPage) : 4096);
    const start: ChainPoint = { frame: 0, checksum: header?.checksum ?? [0, 0] };
    const committed =
      header && wal ? await readCommittedFrames(wal, header, start) : { frames: [], commits: [], end: start };
    // Newest version of each page in the log, and the database size after the last commit.
    const pages = new Map<number, Buffer>();
    for (const f of committed.frames) pages.set(f.readUInt32BE(0), f.subarray(FRAME_HEADER_BYTES));
    const last = committed.commits.at(-1);
    const pageCount = last ? last.dbSize : Math.floor(fileBytes / pageSize);
    const total = pageCount * pageSize;
    const ms = at.now();
    const manifestName = baseName(at.stream, {
      generation: at.generation,
      index: at.index,
      frame: committed.end.frame,
      ms,
    });
    const pagesPerPart = Math.max(1, Math.floor(BASE_PART_BYTES / pageSize));
    let part = 0;
    let bytes = 0;
    for (let first = 1; first <= pageCount; first += pagesPerPart, part++) {
      const count = Math.min(pagesPerPart, pageCount - first + 1);
      const buf = Buffer.alloc(count * pageSize);
      const offset = (first - 1) * pageSize;
      if (offset < fileBytes) await db.read(buf, 0, Math.min(buf.length, fileBytes - offset), offset);
      for (let p = first; p < first + count; p++) pages.get(p)?.copy(buf, (p - first) * pageSize);
      bytes += await putStreamObject(repo, basePartName(manifestName, part), buf);
    }
    const manifest: BaseManifest = {
      v: 1,
      generation: at.generation,
      index: at.index,
      frame: committed.end.frame,
      salts: header ? [header.salt1, header.salt2] : null,
      checksum: committed.end.checksum,
      pageSize,
      pages: pageCount,
      ms,
      fileId: at.fileId,
      parts: part,
      bytes: total,
    };
    // The manifest last: a full copy exists once its manifest does.
    bytes += await putStreamObject(repo, manifestName, Buffer.from(JSON.stringify(manifest)));
    return { manifest, header, end: committed.end, objects: part + 1, bytes };
  } finally {
    await db.close();
    await wal?.close();
  }
}
