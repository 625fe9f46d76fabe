import { ChunkHandoff } from './chunk-reader.js';
import { parseRdb, type RdbSummary } from './rdb-parser.js';

/**
 * Pass RDB chunks through unchanged while the parser walks them one chunk
 * behind at most: the parser never holds more than the chunk in hand, and a
 * slow parser slows the stream instead of queueing data. The iteration ends
 * normally only when the whole RDB parsed and its checksum matched; then
 * `done` has been given the summary.
 */
export async function* tapRdb(
  input: AsyncIterable<Buffer>,
  done: (summary: RdbSummary) => void,
): AsyncGenerator<Buffer> {
  const handoff = new ChunkHandoff();
  let failed = false;
  const parsing = parseRdb(handoff.pull)
    .catch((err: unknown) => {
      failed = true; // set before the producer is released, so the loop below stops at once
      throw err;
    })
    .finally(() => handoff.stop());
  parsing.catch(() => {}); // awaited below; no unhandled rejection meanwhile
  let previous: Promise<void> = Promise.resolve();
  try {
    for await (const chunk of input) {
      await previous;
      if (failed) break;
      previous = handoff.give(chunk);
      yield chunk;
    }
    await previous;
    await handoff.give(null);
    done(await parsing);
  } finally {
    handoff.stop();
  }
}
