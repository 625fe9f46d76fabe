import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import type { SourceRecord } from '../sources/contract.js';
import { SEALED_SUFFIX } from '../sources/files/driver.js';
import { readSnapshotFile, snapshotFileNode } from '../sources/snapshot-file.js';
import type { VerifyCheck } from './checks.js';

/**
 * A sealed files snapshot without the offline identity: what can be proved is
 * that every sealed stream is stored whole and unaltered (each blob
 * authenticated, the stream's content hash equal to the recorded one). Whether
 * the age payload inside decrypts needs the identity (`--identity`).
 */
export async function verifySealedStreams(
  repo: Repository,
  snapshot: SnapshotEntry,
  record: SourceRecord,
  signal: AbortSignal,
): Promise<VerifyCheck[]> {
  const entries = Array.isArray(record.entries) ? (record.entries as Array<{ path: string }>) : [];
  let intact = 0;
  const problems: string[] = [];
  for (const entry of entries) {
    signal.throwIfAborted();
    const stored = entry.path + SEALED_SUFFIX;
    try {
      const node = await snapshotFileNode(repo, snapshot, stored);
      for await (const chunk of readSnapshotFile(repo, node, stored)) void chunk;
      intact++;
    } catch (err) {
      problems.push(`${stored}: ${(err as Error).message}`);
    }
  }
  return [
    { name: 'sealed files', ok: entries.length === record.files, expected: record.files, actual: entries.length },
    {
      name: 'sealed stream hashes',
      ok: problems.length === 0,
      expected: entries.length,
      actual: intact,
      ...(problems.length ? { detail: problems.slice(0, 5).join('; ') } : {}),
    },
  ];
}
