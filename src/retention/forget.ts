import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { isRetained } from '../storage/retained.js';
import type { Repository } from '../repository/repository.js';
import { matchesFilter, type SnapshotEntry } from '../repository/format/index.js';
import { hasTombstone, writeTombstone } from '../repository/tombstone.js';
import { mapLimit } from '../util/map-limit.js';
import { auditRecord, writeAudit, type AuditedRemoval } from './audit.js';
import { keptNewestFirst, overHalf, planRetention, requireVerifiedNewer, type GroupPlan } from './plan.js';
import { assertPolicyKeepsSomething, describePolicy, type RetentionPolicy } from './policy.js';
import { snapshotIsComplete } from './snapshot-check.js';
import { listSnapshotsForRemoval } from './trusted-listing.js';
import { applyForgetRequests, requestForgets, type AppliedRequests, type WrittenRequest } from './forget-requests.js';
import { listForgetRequests } from '../repository/forget-request.js';
import { makeDirectories } from '../util/make-dirs.js';
import { throwIfInterrupted } from '../util/interrupt.js';

/** The retention policy `forget` applies, to which snapshots, progress and stop signal. */
export interface ForgetOptions {
  policy: RetentionPolicy;
  /** Only these snapshots are considered. */
  source?: string;
  host?: string;
  /** Only snapshots carrying every one of these tags (e.g. `pre-migration`). */
  tags?: string[];
  dryRun?: boolean;
  /** Allow removing more than half of a source's snapshots, and a listing much shorter than the last one seen. */
  force?: boolean;
  now?: Date;
  /** Local state directory: the local audit log copy and what the last run saw. */
  stateDir?: string;
  /**
   * Stops before the next snapshot is removed: it rejects with LifeboatError `interrupted`. The
   * snapshots already removed stay removed (each with its tombstone; the audit record names the plan).
   */
  signal?: AbortSignal;
  /** Called after each snapshot removed (not on a dry run). */
  onProgress?: (progress: ForgetProgress) => void;
}

/** How far the removals of a `forget` are. */
export interface ForgetProgress {
  removed: number;
  total: number;
}

const STOPPED = 'some planned snapshots were not removed; run forget again to finish';

/** The plan (every snapshot kept or removed, with the rules that decided) and the removals made. */
export interface ForgetResult {
  plan: GroupPlan[];
  removed: AuditedRemoval[];
  /** The audit object written to the repository (not on a dry run or when nothing goes). */
  audit?: string;
  dryRun: boolean;
  /**
   * Snapshots of `removed` whose object the storage kept because it is still under its
   * Object Lock retention: tombstoned and audited, still listed; a later forget removes them.
   */
  retained: string[];
  /**
   * With an append key: the forget requests written instead of removals (an admin's prune or forget
   * applies them). Absent with an admin key.
   */
  requested?: WrittenRequest[];
  /** With an admin key: what was done with the pending forget requests of append keys. */
  requests?: AppliedRequests;
  /** Snapshots with a pending forget request (before this run), for "forget requested" in plans. */
  pending: string[];
}

/**
 * Apply retention: plan, apply the safety rules, then — unless a dry run —
 * record the removals in the audit log and remove the snapshots, under the
 * exclusive lock, and apply the pending forget requests of append keys.
 * Removing a snapshot only drops its root: its data stays until `prune`.
 *
 * With an append key nothing is removed and no lock is taken: the snapshots
 * the policy would remove get forget requests (new objects), which an admin's
 * `prune` or `forget` applies after its own safety rules (forget-requests.ts).
 */
export async function forget(repo: Repository, options: ForgetOptions): Promise<ForgetResult> {
  assertPolicyKeepsSomething(options.policy);
  const now = options.now ?? new Date();
  const requester = repo.role !== 'admin';
  const run = async (): Promise<ForgetResult> => {
    const all = await listSnapshotsForRemoval(repo, !options.dryRun && !requester, 'forget');
    const pending = (await listForgetRequests(repo)).requests.map((r) => r.snapshot);
    await assertNotShortListing(repo, all, options);
    // Archived PostgreSQL WAL is never forgotten by policy: its own retention knows which base backups need it (`lifeboat wal prune`).
    const considered = all.filter(
      (s) => !isArchivedWal(s) && matchesFilter(s, { source: options.source, host: options.host, tags: options.tags }),
    );
    const byId = new Map(all.map((s) => [s.id, s]));
    const rulePlan = planRetention(considered, options.policy, now);
    const verified = await verifyNewest(repo, rulePlan, byId);
    const plan = requireVerifiedNewer(rulePlan, verified);
    const removed: AuditedRemoval[] = plan.flatMap((g) =>
      g.decisions
        .filter((d) => d.action === 'remove')
        .map((d) => ({
          snapshot: d.snapshot.id,
          time: d.snapshot.time,
          host: g.host,
          source: g.source,
          rule: d.reasons.join('; '),
        })),
    );
    const kept = all.filter((s) => !removed.some((r) => r.snapshot === s.id));
    if (options.dryRun) {
      const requests = requester ? undefined : await applyForgetRequests(repo, kept, { dryRun: true, now });
      return { plan, removed, dryRun: true, requests, pending, retained: [] };
    }
    if (removed.length === 0) {
      await rememberListing(repo, all, options.stateDir);
      if (requester) return { plan, removed, dryRun: false, requested: [], pending, retained: [] };
      const requests = await applyForgetRequests(repo, kept, {
        now,
        stateDir: options.stateDir,
        signal: options.signal,
      });
      return { plan, removed, dryRun: false, requests, pending, retained: [] };
    }

    const tooMany = overHalf(plan);
    if (tooMany.length && !options.force) {
      throw new LifeboatError(
        ErrorCode.Refused,
        `the policy would remove more than half of the snapshots of ${tooMany.map((g) => `"${g.source}" on ${g.host}`).join(', ')}; nothing was removed`,
        {
          hint: 'check the policy with `lifeboat forget --dry-run`; pass --force if this is intended',
        },
      );
    }
    throwIfInterrupted(options.signal, STOPPED);
    if (requester) {
      const requested = await requestForgets(repo, removed, describePolicy(options.policy), now);
      await rememberListing(repo, all, options.stateDir);
      return { plan, removed: [], dryRun: false, requested, pending, retained: [] };
    }
    const audit = await writeAudit(
      repo,
      auditRecord(repo, describePolicy(options.policy), removed, now),
      options.stateDir ? path.join(options.stateDir, 'audit.log') : undefined,
    );
    let done = 0;
    const retained: string[] = [];
    for (const r of removed) {
      throwIfInterrupted(options.signal, STOPPED);
      // The tombstone first: prune tells a forgotten snapshot from one a short listing hides by it.
      await writeTombstone(repo, {
        snapshot: r.snapshot,
        time: r.time,
        tree: byId.get(r.snapshot)!.tree,
        forgottenAt: now.toISOString(),
        audit: `audit/${audit}`,
      });
      try {
        await repo.storage.remove(`snapshots/${r.snapshot}`);
      } catch (err) {
        if (!isRetained(err)) throw err;
        retained.push(r.snapshot);
      }
      options.onProgress?.({ removed: ++done, total: removed.length });
    }
    const requests = await applyForgetRequests(repo, kept, { now, stateDir: options.stateDir, signal: options.signal });
    await rememberListing(
      repo,
      all.filter(
        (s) =>
          retained.includes(s.id) ||
          (!removed.some((r) => r.snapshot === s.id) && !requests.applied.some((r) => r.snapshot === s.id)),
      ),
      options.stateDir,
    );
    return { plan, removed, audit, dryRun: false, requests, pending, retained };
  };
  if (options.dryRun || requester) return run();
  return repo.withLock(true, 'forget', run);
}

/** Per group, check kept snapshots newest first until one passes: that one allows older removals. */
async function verifyNewest(
  repo: Repository,
  plan: GroupPlan[],
  byId: Map<string, SnapshotEntry>,
): Promise<Set<string>> {
  const verified = new Set<string>();
  for (const group of plan) {
    if (!group.decisions.some((d) => d.action === 'remove')) continue;
    for (const s of keptNewestFirst(group)) {
      if (await snapshotIsComplete(repo, byId.get(s.id)!)) {
        verified.add(s.id);
        break;
      }
    }
  }
  return verified;
}

/**
 * A listing that suddenly lacks most of the snapshots this host saw last time
 * (a storage returning a partial list, a wrong prefix) must not drive removals.
 */
async function assertNotShortListing(repo: Repository, now: SnapshotEntry[], options: ForgetOptions): Promise<void> {
  if (!options.stateDir || options.force) return;
  const previous = await readFile(seenFile(options.stateDir, repo), 'utf8').then(
    (t) => JSON.parse(t) as string[],
    () => [] as string[],
  );
  if (previous.length < 4) return;
  const present = new Set(now.map((s) => s.id));
  // A snapshot removed on purpose (forget elsewhere, `tag` replacing it) left a tombstone: not missing.
  const gone = previous.filter((id) => !present.has(id));
  const onPurpose = await mapLimit(gone, 16, (id) => hasTombstone(repo, id));
  const missing = onPurpose.filter((t) => !t).length;
  if (missing * 2 > previous.length) {
    throw new LifeboatError(
      ErrorCode.Refused,
      `the repository lists ${now.length} snapshots, but ${missing} of the ${previous.length} seen by the last forget on this host are gone; nothing was removed`,
      {
        hint: 'check the repository location and `lifeboat snapshots`; pass --force if the snapshots were removed on purpose',
      },
    );
  }
}

async function rememberListing(repo: Repository, kept: SnapshotEntry[], dir: string | undefined): Promise<void> {
  if (!dir) return;
  await makeDirectories(dir, 0o700);
  await writeFile(seenFile(dir, repo), JSON.stringify(kept.map((s) => s.id)), { mode: 0o600 });
}

function seenFile(dir: string, repo: Repository): string {
  return path.join(dir, `forget-seen-${repo.id.slice(0, 16)}.json`);
}

function isArchivedWal(s: SnapshotEntry): boolean {
  return (s.metadata as { pitr?: { kind?: unknown } } | undefined)?.pitr?.kind === 'wal';
}
