/**
 * Chunk boundaries for a PostgreSQL base backup in tar form (`pg_basebackup
 * -Ft`), ADR 0044. Relation data files are arrays of pages that stay where
 * they are between backups, so content-defined chunks (256 KiB on average)
 * would almost all change when a few rows change. The tar stream is cut so
 * that every member header (with the padding before it and any pax or GNU
 * long-name records) is a piece of its own, each relation file's data is cut
 * into fixed blocks counted from the file's own first byte, and any other
 * content keeps content-defined chunks inside its own member. Whatever cannot
 * be parsed (an unknown header, a truncated stream) falls back to
 * content-defined chunks for the rest of the stream. Only boundaries change:
 * the chunks concatenate to the stream as it came.
 *
 * @module
 */

import {
  TAR_BLOCK,
  isRegularFile,
  isZeroBlock,
  longName,
  paddedSize,
  paxRecord,
  readTarHeader,
} from '../../util/tar-header.js';
import type { Chunker } from './chunker.js';

/** How a stream's chunk boundaries are chosen, when not by content alone. */
export interface PostgresTarChunking {
  rule: 'postgres-tar';
  /** The server's page size (`SHOW block_size`, BLCKSZ): 8192 unless built otherwise. */
  pageSize: number;
}

/** Relation data is cut in blocks of this many bytes, or of one page if pages are larger (measured, ADR 0044). */
export const POSTGRES_TAR_BLOCK = 8192;

/** Headers and extended-header records longer than this are not followed (content-defined chunks instead). */
const MAX_HEADER_PIECE = 1024 * 1024;

/** Relation files: `base/<database oid>/` or `global/`, named `<filenode>[_fsm|_vm|_init][.<segment>]`. */
const RELATION = /^(?:\.\/)?(?:base\/\d+|global)\/\d+(?:_(?:fsm|vm|init))?(?:\.\d+)?$/;

export function isRelationFile(name: string): boolean {
  return RELATION.test(name);
}

type State =
  | { at: 'header'; padding: number }
  | { at: 'data'; left: number; padding: number; relation: boolean }
  | { at: 'content' };

/**
 * Cuts a tar stream one piece at a time. The caller offers `buf[start, end)`
 * (the input ended if `eof`) and gets the next piece's length, or -1 when it
 * should refill its window and ask again. The caller's window must hold at
 * least `max(MAX_HEADER_PIECE, chunker.params.max) + TAR_BLOCK` bytes.
 */
export class PostgresTarCutter {
  private state: State = { at: 'header', padding: 0 };
  private readonly block: number;

  constructor(
    private readonly chunker: Chunker,
    chunking: PostgresTarChunking,
  ) {
    const page = chunking.pageSize;
    const valid = Number.isInteger(page) && page >= 512 && page <= 65536 && (page & (page - 1)) === 0;
    this.block = valid ? Math.max(page, POSTGRES_TAR_BLOCK) : 0;
    // Without a page size that makes sense, the whole stream is cut by content.
    if (!valid) this.state = { at: 'content' };
  }

  cut(buf: Uint8Array, start: number, end: number, eof: boolean): number {
    const s = this.state;
    if (s.at === 'header') return this.cutHeaders(s.padding, buf, start, end, eof);
    if (s.at === 'data') return this.cutData(s, buf, start, end, eof);
    return this.cutContent(buf, start, end, eof);
  }

  private cutContent(buf: Uint8Array, start: number, end: number, eof: boolean): number {
    if (!eof && end - start < this.chunker.params.max) return -1;
    return this.chunker.cut(buf, start, end, eof);
  }

  private fallBack(buf: Uint8Array, start: number, end: number, eof: boolean): number {
    this.state = { at: 'content' };
    return this.cutContent(buf, start, end, eof);
  }

  /**
   * One piece: the padding of the previous member, then the header records up
   * to and including a member's own header. The member's data, if any, follows.
   */
  private cutHeaders(padding: number, buf: Uint8Array, start: number, end: number, eof: boolean): number {
    let pos = start + padding;
    let name: string | undefined;
    let size: number | undefined;
    for (;;) {
      if (pos - start > MAX_HEADER_PIECE) return this.fallBack(buf, start, end, eof);
      if (end - pos < TAR_BLOCK) return eof ? this.fallBack(buf, start, end, eof) : -1;
      const block = buf.subarray(pos, pos + TAR_BLOCK);
      // The end-of-archive marker and whatever follows it: content-defined chunks.
      if (isZeroBlock(block)) return pos > start ? this.headerPiece(pos - start) : this.fallBack(buf, start, end, eof);
      const h = readTarHeader(block);
      if (!h) return this.fallBack(buf, start, end, eof);
      pos += TAR_BLOCK;
      if (h.type === 'x' || h.type === 'g' || h.type === 'L' || h.type === 'K') {
        // A record that describes the next header: its data is read and belongs to this piece.
        const next = pos + paddedSize(h.size);
        if (next - start > MAX_HEADER_PIECE) return this.fallBack(buf, start, end, eof);
        if (end < next) return eof ? this.fallBack(buf, start, end, eof) : -1;
        const data = Buffer.from(buf.buffer, buf.byteOffset + pos, h.size);
        if (h.type === 'L') name = longName(data);
        if (h.type === 'x') {
          name = paxRecord(data, 'path') ?? name;
          const paxSize = paxRecord(data, 'size');
          if (paxSize !== undefined) size = Number(paxSize);
        }
        pos = next;
        continue;
      }
      const length = size ?? h.size;
      if (!Number.isSafeInteger(length) || length < 0) return this.fallBack(buf, start, end, eof);
      // Only regular files carry data that is content; other types with a size are cut by content too.
      const relation = isRegularFile(h.type) && isRelationFile(name ?? h.name);
      this.state =
        length > 0
          ? { at: 'data', left: length, padding: paddedSize(length) - length, relation }
          : { at: 'header', padding: 0 };
      return pos - start;
    }
  }

  private headerPiece(length: number): number {
    // Only the padding before the end-of-archive marker: the marker starts the content-cut tail.
    this.state = { at: 'header', padding: 0 };
    return length;
  }

  private cutData(
    s: Extract<State, { at: 'data' }>,
    buf: Uint8Array,
    start: number,
    end: number,
    eof: boolean,
  ): number {
    const offered = end - start;
    let length: number;
    if (s.relation) {
      // Fixed blocks counted from the file's first byte; the last one may be shorter.
      const want = Math.min(this.block, s.left);
      if (offered < want) return eof ? this.fallBack(buf, start, end, eof) : -1;
      length = want;
    } else if (offered >= s.left) {
      length = this.chunker.cut(buf, start, start + s.left, true);
    } else if (offered >= this.chunker.params.max) {
      length = this.chunker.cut(buf, start, end, false);
    } else {
      return eof ? this.fallBack(buf, start, end, eof) : -1;
    }
    s.left -= length;
    if (s.left === 0) this.state = { at: 'header', padding: s.padding };
    return length;
  }
}
