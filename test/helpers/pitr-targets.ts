/**
 * Recovery targets between commits, and what a cluster restored to one must
 * hold, for the point-in-time end-to-end tests. The server runs with
 * track_commit_timestamp, so after the writers stopped the expected content
 * at any moment follows from each row's commit time, the same time that
 * `recovery_target_time` compares: no snapshot taken while writers run can
 * race with a commit.
 *
 * @module
 */

type Psql = (sql: string) => string;

/** What a target must restore: a marker id and the pgbench tables' counts and balances. */
export interface PgbenchState {
  accounts: number;
  tellers: number;
  branches: number;
  history: number;
  /** Sums of abalance, tbalance and bbalance: each pgbench transaction adds its history row's delta to all three. */
  accountsBalance: number;
  tellersBalance: number;
  branchesBalance: number;
}

export interface PitrTarget {
  /** `--to-time` value with microseconds, UTC. */
  time: string;
  /** The same moment in milliseconds since the epoch. */
  ms: number;
  /** The newest marker committed by then. */
  marker: number;
}

/** Microseconds since the epoch as PostgreSQL's timestamp text in UTC. */
function timestampText(us: number): string {
  const seconds = Math.floor(us / 1e6);
  const date = new Date(seconds * 1000).toISOString().slice(0, 19).replace('T', ' ');
  return `${date}.${String(us - seconds * 1e6).padStart(6, '0')}+00`;
}

/**
 * `count` random moments between two marker commits (at most 0.8 s apart), one
 * in each of `count` equal slices of the markers' time span, so that they are
 * spread over the archived window and in order.
 */
export function pickTargets(psql: Psql, count: number): PitrTarget[] {
  const markers = psql(
    "SELECT id || ' ' || (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint FROM marker ORDER BY id",
  )
    .split('\n')
    .map((line) => line.split(' ').map(Number) as [number, number]);
  if (markers.length < 10 * count) throw new Error(`only ${markers.length} markers were written`);
  // Leave the first and last markers out: the window is where both writers ran.
  const first = markers[5]![1];
  const last = markers[markers.length - 6]![1];
  const slice = (last - first) / count;
  const targets: PitrTarget[] = [];
  for (let i = 0; i < count; i++) {
    const candidates = markers
      .map(([id, at], k) => ({ id, at, next: markers[k + 1]?.[1] ?? Infinity }))
      // At most 0.8 s apart: the marker's clock time (taken at insert) may precede its commit a little.
      .filter((m) => m.at >= first + i * slice && m.at < first + (i + 1) * slice && m.next - m.at <= 8e5);
    if (!candidates.length) throw new Error(`no two markers less than 0.8 s apart in slice ${i}`);
    const m = candidates[Math.floor(Math.random() * candidates.length)]!;
    // Strictly between the two commits.
    const at = m.at + 1 + Math.floor(Math.random() * (m.next - m.at - 2));
    targets.push({ time: timestampText(at), ms: at / 1000, marker: m.id });
  }
  return targets;
}

/** What the live server's tables held at `time`, from the commit times of the history rows. */
export function stateAt(psql: Psql, time: string): PgbenchState & { marker: number } {
  const committed = `pg_xact_commit_timestamp(xmin) <= '${time}'`;
  const [history, balance] = psql(
    `SELECT count(*) || ' ' || coalesce(sum(delta), 0) FROM pgbench_history WHERE ${committed}`,
  )
    .split(' ')
    .map(Number) as [number, number];
  const [accounts, tellers, branches] = psql(
    "SELECT (SELECT count(*) FROM pgbench_accounts) || ' ' || (SELECT count(*) FROM pgbench_tellers) || ' ' || (SELECT count(*) FROM pgbench_branches)",
  )
    .split(' ')
    .map(Number) as [number, number, number];
  const marker = Number(psql(`SELECT coalesce(max(id), 0) FROM marker WHERE ${committed}`));
  return {
    marker,
    accounts,
    tellers,
    branches,
    history,
    accountsBalance: balance,
    tellersBalance: balance,
    branchesBalance: balance,
  };
}

/** The same figures read from a restored cluster. */
export function restoredState(psql: Psql): PgbenchState & { marker: number } {
  const [marker, accounts, tellers, branches, history, accountsBalance, tellersBalance, branchesBalance] = psql(
    [
      'SELECT (SELECT coalesce(max(id), 0) FROM marker)',
      '(SELECT count(*) FROM pgbench_accounts)',
      '(SELECT count(*) FROM pgbench_tellers)',
      '(SELECT count(*) FROM pgbench_branches)',
      '(SELECT count(*) FROM pgbench_history)',
      '(SELECT coalesce(sum(abalance), 0) FROM pgbench_accounts)',
      '(SELECT coalesce(sum(tbalance), 0) FROM pgbench_tellers)',
      '(SELECT coalesce(sum(bbalance), 0) FROM pgbench_branches)',
    ].join(" || ' ' || "),
  )
    .split(' ')
    .map(Number) as number[];
  return {
    marker: marker!,
    accounts: accounts!,
    tellers: tellers!,
    branches: branches!,
    history: history!,
    accountsBalance: accountsBalance!,
    tellersBalance: tellersBalance!,
    branchesBalance: branchesBalance!,
  };
}

/**
 * What a cluster restored to `time` must hold when writers were committing
 * around that moment. PostgreSQL stops replay at the first commit record, in
 * WAL order, whose time is past the target. Concurrent transactions take their
 * commit time a moment before their record enters the WAL, so under load two of
 * them can reach the WAL in the opposite order of their times: a transaction
 * committed just before the target may come after the stopping record and be
 * left out, with everything after it in the WAL. So, per pgbench transaction
 * (one history row each, identified by its xid, which a physical restore
 * keeps):
 * - nothing committed after the target is restored;
 * - everything committed more than `slackMs` before the target is restored;
 * - the restored rows are exactly rows of the live server, and every balance
 *   of the restored cluster is the sum of the restored history rows' deltas
 *   (the transactions are whole).
 * Returns the problems found (none: the restore is right) and how many
 * transactions within the slack were left out, for the record.
 */
export function checkRestoredAt(
  live: Psql,
  restored: Psql,
  time: string,
  slackMs = 1_000,
): { problems: string[]; leftOutWithinSlack: number } {
  const rows = (psql: Psql, sql: string) =>
    psql(sql)
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '));
  const liveRows = new Map(
    rows(
      live,
      "SELECT xmin || ' ' || (extract(epoch FROM pg_xact_commit_timestamp(xmin)) * 1000000)::bigint || ' ' || delta FROM pgbench_history",
    ).map(([xid, us, delta]) => [xid!, { us: Number(us), delta: Number(delta) }]),
  );
  const targetUs = Number(live(`SELECT (extract(epoch FROM '${time}'::timestamptz) * 1000000)::bigint`));
  const restoredXids = new Set(rows(restored, 'SELECT xmin FROM pgbench_history').map(([xid]) => xid!));
  const problems: string[] = [];
  let sum = 0;
  for (const xid of restoredXids) {
    const row = liveRows.get(xid);
    if (!row) {
      problems.push(`restored history row of xid ${xid} is not on the live server`);
      continue;
    }
    sum += row.delta;
    if (row.us > targetUs) problems.push(`xid ${xid} committed ${(row.us - targetUs) / 1000} ms after the target`);
  }
  let leftOutWithinSlack = 0;
  for (const [xid, row] of liveRows) {
    if (row.us > targetUs || restoredXids.has(xid)) continue;
    if (row.us < targetUs - slackMs * 1000)
      problems.push(`xid ${xid}, committed ${(targetUs - row.us) / 1000} ms before the target, is missing`);
    else leftOutWithinSlack++;
  }
  const state = restoredState(restored);
  for (const k of ['accountsBalance', 'tellersBalance', 'branchesBalance'] as const)
    if (state[k] !== sum) problems.push(`${k} ${state[k]} is not the sum of the restored history deltas (${sum})`);
  const counts = stateAt(live, time);
  for (const k of ['accounts', 'tellers', 'branches'] as const)
    if (state[k] !== counts[k]) problems.push(`${k}: ${state[k]} rows restored, ${counts[k]} on the live server`);
  if (state.history !== restoredXids.size) problems.push('two history rows share an xid');
  return { problems, leftOutWithinSlack };
}
