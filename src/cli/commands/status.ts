import { replicationFacts } from '../../daemon/replication.js';
import { walFacts } from '../../daemon/wal-facts.js';
import type { Command } from 'commander';
import { nextSlot, schedulesOf } from '../../daemon/schedule.js';
import { buildStatus, type StatusDocument } from '../../daemon/status.js';
import { readStorageState } from '../../daemon/storage-view.js';
import { ExitCode } from '../../errors/index.js';
import { AlertStore } from '../../state/alerts-store.js';
import { RunHistory } from '../../state/history.js';
import { stateDir } from '../../state/state-dir.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import type { CommandContext } from '../context.js';
import { formatAgo, formatBytes, formatDuration, formatSeconds } from '../../util/format.js';

export function registerStatus(program: Command, action: ActionFactory): void {
  program
    .command('status')
    .description(
      'the status document of the daemon API (docs/api.md): last backup and verification, next backup, storage, sources, alerts',
    )
    .action(
      action(async (ctx: CommandContext) => {
        const loaded = requireConfig(ctx.global, 'status');
        const dir = stateDir(loaded.config.state_dir);
        const history = RunHistory.open(dir);
        const alerts = AlertStore.open(dir);
        try {
          const now = Date.now();
          const nextRuns = new Map<string, number>();
          for (const s of schedulesOf(loaded.config)) {
            const at = nextSlot(s, now);
            if (at !== undefined) nextRuns.set(s.job, at);
          }
          const doc = buildStatus({
            config: loaded.config,
            history,
            storage: await readStorageState(loaded.config),
            nextRuns,
            alerts: alerts.active(),
            now,
            replication: replicationFacts(
              loaded.config,
              dir,
              now,
              Date.parse(alerts.meta('watched_since') ?? new Date(now).toISOString()),
            ),
            wal: walFacts(
              loaded.config,
              dir,
              now,
              Date.parse(alerts.meta('watched_since') ?? new Date(now).toISOString()),
            ),
          });
          if (ctx.out.json) process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
          else printStatus(ctx, doc);
          return doc.alerts.length ||
            Object.values(doc.sources).some((s) => !s.ok || s.continuous?.ok === false || s.wal?.ok === false)
            ? ExitCode.Failure
            : ExitCode.Success;
        } finally {
          alerts.close();
          history.close();
        }
      }),
    );
}

function printStatus(ctx: CommandContext, d: StatusDocument): void {
  const lb = d.last_backup;
  ctx.out.info(
    `last backup:       ${lb ? `${lb.timestamp} job ${lb.type}: ${lb.status}, ${formatBytes(lb.size_bytes)}${lb.duration_seconds !== null ? ` in ${formatSeconds(lb.duration_seconds)}` : ''}` : 'none'}`,
  );
  ctx.out.info(
    `last verification: ${d.last_verification ? `${d.last_verification.timestamp}: ${d.last_verification.status}` : 'none'}`,
  );
  ctx.out.info(
    `next backup:       ${d.next_backup ? `${d.next_backup.timestamp} job ${d.next_backup.type}` : 'none scheduled'}`,
  );
  ctx.out.info('storage:');
  for (const [name, s] of Object.entries(d.storage)) {
    const free =
      s.free_space === 'unknown'
        ? `free space unknown (${s.free_space_note})`
        : `${formatBytes(s.available_bytes!)} free${s.free_space === 'ok' ? '' : ` (${s.free_space.toUpperCase()})`}`;
    ctx.out.info(
      `  ${name}: ${s.connected ? `${s.used_bytes !== null ? formatBytes(s.used_bytes) : '?'} used, ${free}` : 'not connected'}`,
    );
  }
  ctx.out.info('sources:');
  for (const [name, s] of Object.entries(d.sources)) {
    ctx.out.info(
      `  ${s.ok ? 'ok  ' : 'LATE'} ${name}: ${s.last_success ? `last success ${s.last_success} (${formatAgo(s.age_seconds ?? 0)})` : 'never backed up'}, RPO ${formatSeconds(s.rpo_seconds)}`,
    );
    const c = s.continuous;
    if (c)
      ctx.out.info(
        `  ${c.ok ? 'ok  ' : 'LATE'} ${name} (continuous): ${c.last_shipped_transaction ? `newest shipped transaction ${c.last_shipped_transaction}` : 'nothing shipped yet'}, lag ${formatDuration(c.lag_seconds * 1000)} (limit ${formatSeconds(c.limit_seconds)})${c.running ? '' : ', replicator not running'}`,
      );
    const w = s.wal;
    if (w) {
      ctx.out.info(
        `  ${w.ok ? 'ok  ' : 'LATE'} ${name} (WAL): ${w.last_archived_wal ? `newest ${w.last_archived_wal} archived ${w.last_archived_at}` : 'nothing archived yet'}, lag ${w.lag_seconds}s (limit ${w.limit_seconds}s), ${w.spooled} spooled, base backup ${w.last_base_backup ?? 'none'}`,
      );
      for (const p of w.problems) ctx.out.info(`       ${p}`);
    }
  }
  ctx.out.result(
    d.alerts.length
      ? `${d.alerts.length} active alert(s):\n${d.alerts.map((a) => `  ${a.severity.toUpperCase()} ${a.rule}: ${a.message}`).join('\n')}`
      : 'no active alerts',
  );
}
