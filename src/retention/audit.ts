import { appendFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import type { Repository } from '../repository/repository.js';
import { parseJsonWith } from '../repository/format/index.js';
import { VERSION } from '../version.js';
import { makeDirectories } from '../util/make-dirs.js';

/** One removal as the audit log records it. */
export interface AuditedRemoval {
  snapshot: string;
  time: string;
  host: string;
  source: string;
  /** The rule that let it go (`no rule keeps it`, `older than max_age`). */
  rule: string;
}

export interface AuditRecord {
  /** `forget`: removed by retention; `tag`: replaced by a copy with other tags (`lifeboat tag`). */
  type: 'forget' | 'tag';
  at: string;
  /** Who ran it: user@host and the program. */
  by: string;
  program: string;
  repository: string;
  policy: string;
  removed: AuditedRemoval[];
}

export function auditRecord(
  repo: Repository,
  policy: string,
  removed: AuditedRemoval[],
  now = new Date(),
  type: AuditRecord['type'] = 'forget',
): AuditRecord {
  return {
    type,
    at: now.toISOString(),
    by: `${safeUser()}@${os.hostname()}`,
    program: `lifeboat ${VERSION}`,
    repository: repo.id,
    policy,
    removed,
  };
}

/**
 * Written before anything is removed: into the repository as a new sealed
 * object (objects are never modified, so the log there is append-only by
 * construction) and appended to the local audit log (0600).
 */
export async function writeAudit(repo: Repository, record: AuditRecord, localLog: string | undefined): Promise<string> {
  const id = await repo.writeObject('audit', 'audit', Buffer.from(JSON.stringify(record)));
  if (localLog) {
    await makeDirectories(path.dirname(localLog), 0o700);
    await appendFile(localLog, JSON.stringify({ ...record, object: `audit/${id}` }) + '\n', { mode: 0o600 });
  }
  return id;
}

/** Every audit record in the repository, oldest first. */
export async function readAudit(repo: Repository): Promise<Array<AuditRecord & { object: string }>> {
  const files = await repo.storage.list('audit/');
  const records = await Promise.all(
    files.map(async (f) => ({ ...parseAudit(await repo.readObject(f.name, 'audit'), f.name), object: f.name })),
  );
  return records.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
}

const auditSchema = z.looseObject({
  type: z.enum(['forget', 'tag']),
  at: z.string(),
  by: z.string(),
  program: z.string(),
  repository: z.string(),
  policy: z.string(),
  removed: z.array(z.looseObject({})),
});

/** An audit record that decrypts but is malformed is an error naming the object, never half-read. */
function parseAudit(plain: Buffer, object: string): AuditRecord {
  return parseJsonWith(plain, auditSchema, `audit record ${object}`) as unknown as AuditRecord;
}

function safeUser(): string {
  try {
    return os.userInfo().username;
  } catch {
    return 'unknown';
  }
}
