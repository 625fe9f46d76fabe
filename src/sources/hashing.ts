import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';

/** Pass a stream through while counting its bytes and hashing it (SHA-256). */
export class StreamTally {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private digestHex: string | undefined;

  async *through(input: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    for await (const chunk of input) {
      this.hash.update(chunk);
      this.bytes += chunk.length;
      yield chunk;
    }
  }

  /** The SHA-256 of everything passed through (only once the stream ended). */
  get sha256(): string {
    this.digestHex ??= this.hash.digest('hex');
    return this.digestHex;
  }
}

/** Bytes and SHA-256 of a file, streamed. */
export async function tallyFile(file: string): Promise<{ bytes: number; sha256: string }> {
  const tally = new StreamTally();
  for await (const chunk of tally.through(createReadStream(file))) void chunk;
  return { bytes: tally.bytes, sha256: tally.sha256 };
}
