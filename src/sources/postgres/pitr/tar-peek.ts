import { isZeroBlock, paddedSize, readTarHeader } from '../../../util/tar-header.js';

/**
 * Reads a tar stream as it passes through, unchanged, and keeps the contents
 * of a few small named members (pg_basebackup's `backup_label` and
 * `backup_manifest`), so facts about a base backup are learnt without a
 * second read or a local copy. Also tells whether the stream ended with the
 * tar end-of-archive marker, i.e. whether it is complete.
 */
export class TarPeek {
  readonly members = new Map<string, Buffer>();
  ended = false;
  private header = Buffer.alloc(0);
  private remaining = 0; // bytes of the current member's data (with padding) still to pass
  private keeping: { name: string; parts: Buffer[]; size: number } | undefined;
  private zeroBlocks = 0;
  private lost = false;

  constructor(
    private readonly wanted: ReadonlySet<string>,
    private readonly maxKeep = 256 * 1024 * 1024,
  ) {}

  async *through(input: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
    for await (const chunk of input) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      this.feed(buf);
      yield buf;
    }
  }

  private feed(buf: Buffer): void {
    if (this.lost) return;
    let at = 0;
    while (at < buf.length) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, buf.length - at);
        if (this.keeping && this.keeping.size > 0) {
          const take = Math.min(n, this.keeping.size);
          this.keeping.parts.push(Buffer.from(buf.subarray(at, at + take)));
          this.keeping.size -= take;
          if (this.keeping.size === 0) {
            this.members.set(this.keeping.name, Buffer.concat(this.keeping.parts));
            this.keeping = undefined;
          }
        }
        this.remaining -= n;
        at += n;
        continue;
      }
      const need = 512 - this.header.length;
      const part = buf.subarray(at, at + need);
      this.header = this.header.length ? Buffer.concat([this.header, part]) : Buffer.from(part);
      at += part.length;
      if (this.header.length < 512) continue;
      const h = this.header;
      this.header = Buffer.alloc(0);
      if (isZeroBlock(h)) {
        this.zeroBlocks++;
        if (this.zeroBlocks >= 2) this.ended = true;
        continue;
      }
      this.zeroBlocks = 0;
      this.ended = false;
      const header = readTarHeader(h);
      if (!header) {
        // Not a tar header: the stream cannot be followed further, and is not known to be complete.
        this.lost = true;
        return;
      }
      const { size, name, type } = header;
      this.remaining = paddedSize(size);
      if ((type === '0' || type === '\0') && this.wanted.has(name) && size <= this.maxKeep) {
        this.keeping = { name, parts: [], size };
        if (size === 0) {
          this.members.set(name, Buffer.alloc(0));
          this.keeping = undefined;
        }
      }
    }
  }
}
