/**
 * A file's content as WebDAV serves it: byte ranges (`Range: bytes=…`) mapped
 * onto the file's blobs, so that a range reads only the blobs it overlaps.
 *
 * @module
 */

import { Readable } from 'node:stream';
import { blobIdFromHex, type TreeNode } from '../../repository/format/index.js';
import type { Repository } from '../../repository/repository.js';
import { missingBlob } from '../../repository/pack-ranges.js';

/** A satisfiable range, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The one range a `Range` header asks for: undefined for the whole file (no
 * header, a header that is not one `bytes=` range — several ranges are
 * answered with the whole file, as RFC 9110 allows), `unsatisfiable` when it
 * lies past the end.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start >= size || end < start) return 'unsatisfiable';
  return { start, end };
}

/** The bytes `range` (or all) of the node's content, read blob by blob. A missing blob fails before any byte is sent. */
export function contentStream(repo: Repository, node: TreeNode, range?: ByteRange): Readable {
  // Plaintext lengths from the index: where each blob starts in the file.
  const blobs = (node.content ?? []).map((hex) => {
    const id = blobIdFromHex(hex);
    const loc = repo.locate(id);
    if (!loc) throw missingBlob(id);
    return { id, length: loc.rawLength };
  });
  const start = range?.start ?? 0;
  const end = range ? range.end + 1 : Number.POSITIVE_INFINITY;
  async function* bytes(): AsyncGenerator<Buffer> {
    let offset = 0;
    for (const b of blobs) {
      const from = offset;
      offset += b.length;
      if (offset <= start) continue;
      if (from >= end) return;
      const data = await repo.readBlob(b.id);
      yield data.subarray(Math.max(0, start - from), Math.min(data.length, end - from));
    }
  }
  return Readable.from(bytes());
}
