/**
 * A prune record (`prune/<sha256>`, sealed as kind `prune`): the packs one mark
 * found unused (or made unused by repacking), and when. A later sweep deletes
 * them once the record is older than the grace period and they are still
 * unneeded. A record only ever allows deletion; it never causes it on its own,
 * so an unreadable record is skipped (its packs are marked again next time).
 *
 * @module
 */

import os from 'node:os';
import { ErrorCode, LifeboatError, isLifeboatError } from '../errors/index.js';
import { seal } from '../repository/crypto/index.js';
import { sha256Hex } from '../repository/ids.js';
import type { Repository } from '../repository/repository.js';

export interface PruneRecord {
  version: 1;
  /** ISO-8601 time of the mark, by the marking host's clock. */
  time: string;
  host: string;
  /** Pack ids marked for deletion. */
  packs: string[];
  /**
   * Every snapshot id the run saw (absent in records of older versions). A
   * later mark or sweep refuses when one of them is gone without a tombstone,
   * or still there but missing from its listing. A record may name no packs
   * and exist only to carry this set.
   */
  snapshots?: string[];
}

export interface StoredRecord extends PruneRecord {
  /** Object name, `prune/<id>`. */
  name: string;
}

export async function writeRecord(
  repo: Repository,
  packs: string[],
  now: number,
  snapshots: string[],
): Promise<string> {
  const record: PruneRecord = {
    version: 1,
    time: new Date(now).toISOString(),
    host: os.hostname(),
    packs: [...packs].sort(),
    snapshots: [...snapshots].sort(),
  };
  const sealed = seal(repo.keys.encryption, 'prune', Buffer.from(JSON.stringify(record)));
  const name = `prune/${sha256Hex(sealed)}`;
  await repo.storage.put(name, sealed);
  return name;
}

export function parseRecord(plain: Buffer, name: string): StoredRecord {
  let r: PruneRecord;
  try {
    r = JSON.parse(plain.toString('utf8')) as PruneRecord;
  } catch (cause) {
    throw new LifeboatError(ErrorCode.Corrupt, `prune record ${name} is not valid JSON`, { cause });
  }
  if (r?.version !== 1)
    throw new LifeboatError(
      ErrorCode.UnsupportedVersion,
      `prune record ${name} has unsupported version ${String(r?.version)}`,
    );
  if (
    typeof r.time !== 'string' ||
    Number.isNaN(Date.parse(r.time)) ||
    !Array.isArray(r.packs) ||
    !r.packs.every(isId) ||
    (r.snapshots !== undefined && (!Array.isArray(r.snapshots) || !r.snapshots.every(isId)))
  ) {
    throw new LifeboatError(ErrorCode.Corrupt, `prune record ${name} is malformed`);
  }
  return { ...r, name };
}

const isId = (p: unknown) => typeof p === 'string' && /^[0-9a-f]{64}$/.test(p);

/** Whether some record already carries exactly this snapshot set (so a new one need not be written). */
export function recordsCarry(records: StoredRecord[], snapshots: string[]): boolean {
  const want = [...snapshots].sort().join(',');
  return records.some((r) => r.snapshots !== undefined && [...r.snapshots].sort().join(',') === want);
}

export interface ListedRecords {
  records: StoredRecord[];
  /** Records that could not be read or authenticated: ignored, never acted on. */
  problems: Array<{ name: string; error: LifeboatError }>;
}

/** Every prune record. A listing error rejects. */
export async function listRecords(repo: Repository): Promise<ListedRecords> {
  const objects = await repo.storage.list('prune/');
  const records: StoredRecord[] = [];
  const problems: ListedRecords['problems'] = [];
  for (const o of objects) {
    try {
      records.push(parseRecord(await repo.readObject(o.name, 'prune'), o.name));
    } catch (err) {
      if (!isLifeboatError(err)) throw err;
      // Removed by a concurrent sweep between list and read: nothing to act on.
      if (err.code !== ErrorCode.NotFound) problems.push({ name: o.name, error: err });
    }
  }
  return { records, problems };
}
