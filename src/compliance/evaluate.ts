/**
 * The 3-2-1 and policy checks of `lifeboat compliance`, as a pure function of
 * the config, what each repository holds, and when each source was last
 * drilled — so the rules are tested without any storage.
 *
 * @module
 */

import { parseDuration } from '../config/duration.js';
import type { LifeboatConfig, RepositoryConfig } from '../config/schema.js';
import type { SnapshotEntry } from '../repository/format/index.js';
export { isCompleteCopy } from '../retention/complete-copy.js';

export type CheckStatus = 'pass' | 'fail';

/** One compliance check (3-2-1, offsite, freshness, drills, policy) of a source: pass, warn or fail, and why. */
export interface ComplianceCheck {
  source: string;
  check: 'copies' | 'media' | 'offsite' | 'immutable' | 'errors' | 'encryption' | 'max_age' | 'drill';
  status: CheckStatus;
  reason: string;
}

export interface RepositoryView {
  name: string;
  /** Whether it could be read now (a USB drive that is not plugged in cannot). */
  reachable: boolean;
  error?: string;
  /** `complete: false` for a snapshot that is not a good copy (see `isCompleteCopy`); absent counts as complete. */
  snapshots: Array<Pick<SnapshotEntry, 'id' | 'time' | 'source'> & { complete?: boolean }>;
  /** The repository's id: drills record it instead of the configured name. */
  id?: string;
  /** What the storage's server lets this client do (a repository server token: `admin` or `append`). */
  accessRole?: string;
}

/** One recorded read-back of a source's data from a repository: a `verify` step or a drill. */
export interface Verification {
  /** The configured name (verify steps) or the repository id (drills). */
  repository: string;
  source: string;
  kind: 'verify' | 'drill';
  time: string;
  passed: boolean;
}

/** Without an `rpo`, a copy counts when it is at most this old. */
export const DEFAULT_RPO_SECONDS = 36 * 3600;
export const DRILL_MAX_AGE_DAYS = 35;
/** A copy counts as verified (the "0 errors" of 3-2-1-1-0) when its newest verify or drill passed at most this long ago. */
export const VERIFY_MAX_AGE_DAYS = 35;

/** Why a repository's copies cannot be destroyed from the backup host, or undefined when they can. */
export function immutability(settings: RepositoryConfig | undefined, view: RepositoryView): string | undefined {
  if (settings?.object_lock && settings.url.startsWith('s3://'))
    return `${view.name} (S3 Object Lock, ${settings.object_lock.mode}, ${settings.object_lock.days} days)`;
  if (view.accessRole === 'append') return `${view.name} (append-only repository server token)`;
  if (settings?.require_mount) return `${view.name} (removable drive, require_mount)`;
  return undefined;
}

export function evaluateCompliance(
  config: LifeboatConfig,
  repositories: RepositoryView[],
  lastDrills: Map<string, { time: string; passed: boolean }>,
  now: Date,
  verifications: Verification[] = [],
): ComplianceCheck[] {
  const out: ComplianceCheck[] = [];
  const settings = config.repositories ?? {};
  for (const [source, s] of Object.entries(config.sources ?? {})) {
    const rpo = s.rpo ? parseDuration(s.rpo) : DEFAULT_RPO_SECONDS;
    const recent = (x: RepositoryView['snapshots'][number]) =>
      x.source === source && now.getTime() - Date.parse(x.time) <= rpo * 1000;
    const fresh = repositories.filter((r) => r.reachable && r.snapshots.some((x) => recent(x) && x.complete !== false));
    // Recent snapshots that are not good copies (inputs missing or unreadable) are named, never counted.
    const incomplete = repositories
      .filter((r) => r.reachable && !fresh.includes(r) && r.snapshots.some((x) => recent(x) && x.complete === false))
      .map((r) => r.name);
    const add = (check: ComplianceCheck['check'], ok: boolean, reason: string) =>
      out.push({ source, check, status: ok ? 'pass' : 'fail', reason });

    const copies = 1 + fresh.length;
    const unreachable = repositories.filter((r) => !r.reachable).map((r) => r.name);
    add(
      'copies',
      copies >= 3,
      `${copies} cop${copies === 1 ? 'y' : 'ies'} within the RPO of ${s.rpo ?? '36h'}: production${fresh.map((r) => ` + ${r.name}`).join('')}${unreachable.length ? ` (not reachable: ${unreachable.join(', ')})` : ''}${incomplete.length ? ` (not counted, its recent snapshots have input errors or hold nothing: ${incomplete.join(', ')})` : ''}; 3 needed`,
    );

    const media = new Set(
      ['disk (production)', ...fresh.map((r) => settings[r.name]?.media ?? 'disk')].map((m) =>
        m === 'disk (production)' ? 'disk' : m,
      ),
    );
    add('media', media.size >= 2, `media: ${[...media].join(', ')}; 2 kinds needed`);

    const offsite = fresh.filter((r) => settings[r.name]?.location === 'offsite').map((r) => r.name);
    add(
      'offsite',
      offsite.length >= 1,
      offsite.length ? `offsite: ${offsite.join(', ')}` : 'no recent copy in an offsite repository',
    );

    const immutable = fresh.map((r) => immutability(settings[r.name], r)).filter((x): x is string => x !== undefined);
    add(
      'immutable',
      immutable.length >= 1,
      immutable.length
        ? `immutable or offline: ${immutable.join(', ')}`
        : 'no recent copy is immutable or offline: use object_lock on an S3 repository, an append-only repository server token, or a require_mount drive',
    );

    const unverified = fresh.map((r) => verificationProblem(r, source, verifications, now)).filter(Boolean);
    add(
      'errors',
      fresh.length > 0 && unverified.length === 0,
      fresh.length === 0
        ? 'no recent copy to verify'
        : unverified.length
          ? unverified.join('; ')
          : `every copy read back without errors within ${VERIFY_MAX_AGE_DAYS} days: ${fresh.map((r) => r.name).join(', ')}`,
    );

    add('encryption', true, 'every repository is encrypted (AES-256-GCM; Lifeboat has no unencrypted mode)');

    const tooOld: string[] = [];
    for (const r of repositories) {
      const maxAge = settings[r.name]?.retention?.max_age;
      if (!maxAge) continue;
      const limit = parseDuration(maxAge) * 1000;
      const old = r.snapshots.filter((x) => x.source === source && now.getTime() - Date.parse(x.time) > limit);
      if (old.length) tooOld.push(`${r.name}: ${old.length} snapshot(s) older than ${maxAge}`);
    }
    add(
      'max_age',
      tooOld.length === 0,
      tooOld.length ? tooOld.join('; ') : "no snapshot is older than its repository's max_age",
    );

    const drill = lastDrills.get(source);
    const drillAge = drill ? (now.getTime() - Date.parse(drill.time)) / 86_400_000 : Infinity;
    add(
      'drill',
      Boolean(drill?.passed) && drillAge <= DRILL_MAX_AGE_DAYS,
      !drill
        ? 'missing: no restore drill recorded'
        : `last drill ${drill.time.slice(0, 10)} ${drill.passed ? 'passed' : 'FAILED'} (${Math.floor(drillAge)} days ago; at most ${DRILL_MAX_AGE_DAYS})`,
    );
  }
  return out;
}

/** Why the copy of `source` in `repository` does not count as verified, or '' when it does. */
function verificationProblem(view: RepositoryView, source: string, all: Verification[], now: Date): string {
  const repository = view.name;
  const newest = all
    .filter((v) => (v.repository === view.name || (view.id && v.repository === view.id)) && v.source === source)
    .sort((a, b) => Date.parse(b.time) - Date.parse(a.time))[0];
  if (!newest) return `${repository}: never verified (no verify step or drill of this source recorded)`;
  const days = (now.getTime() - Date.parse(newest.time)) / 86_400_000;
  const when = `last ${newest.kind} ${newest.time.slice(0, 10)}`;
  if (!newest.passed) return `${repository}: ${when} FAILED`;
  if (days > VERIFY_MAX_AGE_DAYS)
    return `${repository}: ${when} passed ${Math.floor(days)} days ago; at most ${VERIFY_MAX_AGE_DAYS}`;
  return '';
}
