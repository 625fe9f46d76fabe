/**
 * Pull-style reading of a byte stream that arrives in chunks, so a parser can
 * ask for "the next 9 bytes" or "skip 80 MB" without holding more than the
 * current chunk: values are skipped, never collected, so memory stays bounded
 * whatever the size of a key.
 *
 * @module
 */

export class TruncatedInput extends Error {}

const EMPTY = Buffer.alloc(0);

export class ChunkReader {
  private chunk: Buffer = EMPTY;
  private pos = 0;
  /** Where the part of the current chunk not yet shown to `onConsumed` starts. */
  private reported = 0;
  /** Bytes consumed so far. */
  offset = 0;

  /** `onConsumed` sees every consumed byte once, in order (for a checksum), one slice per chunk. */
  constructor(
    private readonly pull: () => Promise<Buffer | undefined>,
    private readonly onConsumed: (bytes: Buffer) => void = () => {},
  ) {}

  /** Report the consumed bytes not reported yet; after this call `onConsumed` has seen exactly `offset` bytes. */
  flushConsumed(): void {
    if (this.pos > this.reported) this.onConsumed(this.chunk.subarray(this.reported, this.pos));
    this.reported = this.pos;
  }

  private async fill(): Promise<void> {
    this.flushConsumed();
    const next = await this.pull();
    if (next === undefined)
      throw new TruncatedInput(`the data ends after ${this.offset} bytes, in the middle of an entry`);
    this.chunk = next;
    this.pos = 0;
    this.reported = 0;
  }

  async byte(): Promise<number> {
    while (this.pos >= this.chunk.length) await this.fill();
    this.offset++;
    return this.chunk[this.pos++]!;
  }

  /** The next `n` bytes (small fields only: lengths, ids, short strings). */
  async take(n: number): Promise<Buffer> {
    if (this.chunk.length - this.pos >= n) {
      const out = this.chunk.subarray(this.pos, this.pos + n);
      this.pos += n;
      this.offset += n;
      return out;
    }
    const parts: Buffer[] = [];
    let need = n;
    while (need > 0) {
      while (this.pos >= this.chunk.length) await this.fill();
      const k = Math.min(need, this.chunk.length - this.pos);
      parts.push(this.chunk.subarray(this.pos, this.pos + k));
      this.pos += k;
      need -= k;
    }
    this.offset += n;
    return Buffer.concat(parts, n);
  }

  async skip(n: number): Promise<void> {
    let need = n;
    while (need > 0) {
      while (this.pos >= this.chunk.length) await this.fill();
      const k = Math.min(need, this.chunk.length - this.pos);
      this.pos += k;
      need -= k;
    }
    this.offset += n;
  }

  /** True when nothing is left, neither in the current chunk nor upstream. */
  async atEnd(): Promise<boolean> {
    while (this.pos >= this.chunk.length) {
      this.flushConsumed();
      const next = await this.pull();
      if (next === undefined) return true;
      this.chunk = next;
      this.pos = 0;
      this.reported = 0;
    }
    return false;
  }
}

/**
 * Hands chunks from a producer to a pulling consumer one at a time: `give`
 * resolves once the consumer has finished with the chunk (asked for the next)
 * or stopped, which is what keeps the producer from running ahead.
 */
export class ChunkHandoff {
  private slot: Buffer | null | undefined;
  private consumerWaiting: (() => void) | undefined;
  private producerWaiting: (() => void) | undefined;
  private stopped = false;

  /** Offer a chunk, or `null` for the end of the stream. */
  give(chunk: Buffer | null): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.slot = chunk;
    const done = new Promise<void>((resolve) => (this.producerWaiting = resolve));
    this.wakeConsumer();
    return done;
  }

  readonly pull = async (): Promise<Buffer | undefined> => {
    this.wakeProducer();
    if (this.slot === undefined) await new Promise<void>((resolve) => (this.consumerWaiting = resolve));
    const chunk = this.slot;
    this.slot = undefined;
    return chunk ?? undefined;
  };

  /** The consumer is done (finished or failed): never block the producer again. */
  stop(): void {
    this.stopped = true;
    this.wakeProducer();
  }

  private wakeConsumer(): void {
    const wake = this.consumerWaiting;
    this.consumerWaiting = undefined;
    wake?.();
  }

  private wakeProducer(): void {
    const wake = this.producerWaiting;
    this.producerWaiting = undefined;
    wake?.();
  }
}
