import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import type { Repository } from '../../repository/repository.js';
import { escapeName } from '../../util/escape-name.js';
import type { CommandContext } from '../context.js';
import { formatDuration } from '../../util/format.js';
import { optionalConfig } from '../configured.js';

/** `--to-time`: an ISO-8601 date and time with its zone (`2026-12-06 12:00:00Z`, `2026-12-06T13:00:00+01:00`). */
export function parseRestoreTime(text: string): number {
  const trimmed = text.trim();
  const ms = Date.parse(trimmed.replace(' ', 'T'));
  if (!/(Z|[+-]\d\d:?\d\d)$/i.test(trimmed) || Number.isNaN(ms)) {
    throw new LifeboatError(ErrorCode.Usage, `--to-time "${text}" is not a date and time with a zone`, {
      hint: "write it as '2026-12-06 12:00:00Z' or '2026-12-06T13:00:00+01:00'",
    });
  }
  return ms;
}

/** Restore a sqlite source from its continuous stream to a time (or the newest shipped state), then check the copy. */
export async function restoreFromStream(
  ctx: CommandContext,
  repo: Repository,
  flags: { source?: string; toFile?: string; toTime?: string; force?: boolean; smoke?: boolean },
  started: number,
): Promise<number> {
  if (!flags.source)
    throw new LifeboatError(ErrorCode.Usage, '--to-time needs --source NAME (the sqlite source with `continuous`)');
  if (!flags.toFile)
    throw new LifeboatError(ErrorCode.Usage, 'restoring a continuous sqlite source needs --to-file PATH', {
      hint: 'restore next to the live database, check it, then swap',
    });
  const atMs = flags.toTime === undefined ? undefined : parseRestoreTime(flags.toTime);
  // Loaded only here: the replication code is not needed by other restores.
  const { restoreToTime } = await import('../../sources/sqlite/continuous/restore-point.js');
  const result = await restoreToTime(repo, {
    source: flags.source,
    toFile: flags.toFile,
    atMs,
    force: flags.force,
    log: (l) => ctx.out.verbose(escapeName(l)),
  });
  const checks: Array<{ field: string; ok: boolean; expected: unknown; actual: unknown }> = [
    { field: 'integrity', ok: result.record.integrity === 'ok', expected: 'ok', actual: result.record.integrity },
  ];
  // The source's smoke command, as drills run it, against the restored file (not on a copy that fails integrity_check).
  const smokeCommand = optionalConfig(ctx.global)?.config.sources?.[flags.source]?.smoke;
  let smokeNote: string | null = null;
  if (smokeCommand && flags.smoke === false) smokeNote = 'skipped (--no-smoke)';
  else if (smokeCommand && result.record.integrity !== 'ok') smokeNote = 'not run: integrity_check failed';
  else if (smokeCommand) {
    const { runSmoke, smokeEnv } = await import('../../drill/smoke.js');
    ctx.out.verbose(`smoke command against ${escapeName(result.file)}`);
    const smoke = await runSmoke(
      smokeCommand,
      smokeEnv(
        'sqlite',
        { location: result.file, details: { file: result.file } },
        { id: `stream@${new Date(result.committedMs).toISOString()}`, source: flags.source },
      ),
      { signal: ctx.signal, timeoutMs: 10 * 60_000 },
    );
    checks.push({
      field: 'smoke',
      ok: smoke.ok,
      expected: 'exit 0',
      actual: smoke.ok ? 'exit 0' : (smoke.output.trim().split('\n').at(-1) ?? `exit ${smoke.exitCode ?? 'none'}`),
    });
  }
  const failed = checks.filter((c) => !c.ok);
  ctx.out.emit({
    type: 'summary',
    source: flags.source,
    sourceType: 'sqlite',
    continuous: true,
    location: result.file,
    requestedTime: atMs === undefined ? null : new Date(atMs).toISOString(),
    committedAt: new Date(result.committedMs).toISOString(),
    generation: result.generation,
    fullCopyAt: new Date(result.fullCopyMs).toISOString(),
    transactions: result.transactions,
    segments: result.segments,
    record: result.record,
    checks,
    // Whether the smoke command ran (a `smoke` entry in checks), and why not when it did not.
    smoke: !smokeCommand ? 'not configured' : (smokeNote ?? 'ran'),
    ok: failed.length === 0,
    durationMs: Date.now() - started,
  });
  ctx.out.result(
    `restored sqlite source "${flags.source}" as of ${new Date(result.committedMs).toISOString()} (last transaction at or before ${atMs === undefined ? 'the newest shipped state' : new Date(atMs).toISOString()}) to ${result.file} in ${formatDuration(Date.now() - started)}`,
  );
  ctx.out.info(
    `  full copy of ${new Date(result.fullCopyMs).toISOString()} + ${result.transactions} transactions from ${result.segments} segments (generation ${result.generation})`,
  );
  for (const c of checks)
    ctx.out.info(`  ${c.ok ? 'ok  ' : 'FAIL'} ${c.field}${c.ok ? '' : `: ${JSON.stringify(c.actual)}`}`);
  ctx.out.info(
    `  tables: ${
      Object.entries(result.record.tables)
        .map(([t, n]) => `${t} ${n}`)
        .join(', ') || 'none'
    }`,
  );
  if (smokeNote) ctx.out.info(`  smoke command ${smokeNote}`);
  if (failed.length) {
    ctx.out.warn(
      `the restored database fails ${failed.map((c) => (c.field === 'smoke' ? 'the smoke command' : 'PRAGMA integrity_check')).join(' and ')}; ${result.file} is left in place for inspection`,
    );
    return ExitCode.Failure;
  }
  return ExitCode.Success;
}
