import { locateConfig } from '../../config/locate.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { restorePointInTime } from '../../sources/postgres/pitr/restore-pitr.js';
import type { RecoveryTarget } from '../../sources/postgres/pitr/recovery-plan.js';
import { verifyRecovery } from '../../sources/postgres/pitr/verify-restore.js';
import { walFetchCommand as walFetchCommandOf } from '../../sources/postgres/pitr/wal-fetch-command.js';
import { parseLsn } from '../../sources/postgres/pitr/wal-names.js';
import { chooseRepository, optionalConfig } from '../configured.js';
import { withRepository, type CommandContext } from '../context.js';
import { formatDuration } from '../../util/format.js';

interface PitrFlags {
  target?: string;
  source?: string;
  toTime?: string;
  toLsn?: string;
  toName?: string;
  verify?: boolean;
  keepArchiving?: boolean;
  dryRun?: boolean;
  toDatabase?: string;
  toFile?: string;
}

/** "2026-12-06 12:00:00+00", "2026-12-06T12:00:00.5Z": a moment with an explicit time zone. */
export function parseTargetTime(text: string): Date {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(Z|UTC|[+-]\d\d(?::?\d\d)?)$/i.exec(text.trim());
  if (!m)
    throw new LifeboatError(ErrorCode.Usage, `--to-time "${text}" is not a moment with a time zone`, {
      hint: "write it as '2026-12-06 12:00:00+00' (the zone is required: the server's and this host's may differ)",
    });
  let zone = m[3]!.toUpperCase();
  if (zone === 'UTC') zone = 'Z';
  else if (zone !== 'Z' && !zone.includes(':'))
    zone = zone.length === 3 ? `${zone}:00` : `${zone.slice(0, 3)}:${zone.slice(3)}`;
  const d = new Date(`${m[1]}T${m[2]}${zone}`);
  if (Number.isNaN(d.getTime())) throw new LifeboatError(ErrorCode.Usage, `--to-time "${text}" is not a valid moment`);
  return d;
}

function targetOf(flags: PitrFlags): RecoveryTarget {
  const given = [flags.toTime, flags.toLsn, flags.toName].filter((v) => v !== undefined);
  if (given.length > 1) throw new LifeboatError(ErrorCode.Usage, 'give one of --to-time, --to-lsn and --to-name');
  if (flags.toTime !== undefined) return { kind: 'time', time: parseTargetTime(flags.toTime) };
  if (flags.toLsn !== undefined) return { kind: 'lsn', lsn: parseLsn(flags.toLsn) };
  if (flags.toName !== undefined) return { kind: 'name', name: flags.toName };
  return { kind: 'latest' };
}

/**
 * The restore_command for the restored server: this very program with the
 * same config and repository. Credentials are not on it: wal-fetch reads them
 * as every command does (the repository's password_file/key_file in the
 * config, or the server's environment).
 */
export function walFetchCommand(ctx: CommandContext, source: string): string {
  const choice = chooseRepository(ctx.global);
  return walFetchCommandOf({
    config: locateConfig(ctx.global.config),
    repository: choice.name ?? choice.location,
    keyFile: ctx.global.keyFile,
    source,
  });
}

export async function restorePitr(ctx: CommandContext, ref: string, flags: PitrFlags): Promise<number> {
  if (!flags.source)
    throw new LifeboatError(ErrorCode.Usage, 'a point-in-time restore needs --source NAME', {
      hint: 'the postgres source whose base backups and WAL to use',
    });
  if (!flags.target)
    throw new LifeboatError(ErrorCode.Usage, 'a point-in-time restore needs --target DATADIR', {
      hint: 'a new or empty directory for the restored data directory',
    });
  if (flags.toDatabase || flags.toFile)
    throw new LifeboatError(
      ErrorCode.Usage,
      '--to-database and --to-file do not apply to a point-in-time restore, which writes a data directory',
    );
  const target = targetOf(flags);
  const source = flags.source;
  const config = optionalConfig(ctx.global)?.config.sources?.[source];
  const binDir = config?.type === 'postgres' ? config.bin_dir : undefined;
  const started = Date.now();
  return withRepository(ctx, async (repo) => {
    const result = await restorePointInTime(repo, {
      source,
      base: ref === 'latest' ? undefined : ref,
      target,
      dataDir: flags.target!,
      restoreCommand: walFetchCommand(ctx, source),
      keepArchiving: flags.keepArchiving,
      dryRun: flags.dryRun,
      signal: ctx.signal,
      log: (l) => ctx.out.info(l),
    });
    const { plan } = result;
    const restoredMs = Date.now() - started;
    const summary = {
      type: 'summary',
      source,
      base: plan.base.snapshot.id,
      timeline: plan.timeline,
      walFiles: plan.files.length,
      lastSegment: plan.lastSegment,
      dataDir: result.dataDir,
      written: result.written,
    };
    if (!result.written) {
      ctx.out.emit({ ...summary, dryRun: true });
      ctx.out.result(
        `dry run: reachable from base backup ${plan.base.snapshot.id.slice(0, 8)} with ${plan.files.length} WAL files up to ${plan.lastSegment}; nothing written`,
      );
      return ExitCode.Success;
    }
    if (!flags.verify) {
      ctx.out.emit({ ...summary, durationMs: restoredMs });
      ctx.out.result(
        `restored base backup ${plan.base.snapshot.id.slice(0, 8)} into ${result.dataDir} in ${formatDuration(restoredMs)}; start PostgreSQL on it to replay ${plan.files.length} WAL files to the target`,
      );
      return ExitCode.Success;
    }
    const outcome = await verifyRecovery(result.dataDir, plan, {
      binDir,
      signal: ctx.signal,
      log: (l) => ctx.out.info(l),
    });
    ctx.out.emit({ ...summary, verified: outcome, durationMs: Date.now() - started });
    ctx.out.result(
      `${outcome.reached ? 'restored and verified' : 'restored, but recovery did NOT report reaching the target'}: ${result.dataDir} from base backup ${plan.base.snapshot.id.slice(0, 8)}${outcome.stoppedAt ? `, recovery stopped ${outcome.stoppedAt}` : ''}${outcome.lastTransaction ? `, last transaction at ${outcome.lastTransaction}` : ''}, in ${formatDuration(Date.now() - started)}`,
    );
    return outcome.reached ? ExitCode.Success : ExitCode.Failure;
  });
}
