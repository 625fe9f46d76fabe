import type { Command } from 'commander';
import { installUnits, markedText, SYSTEM_UNIT_DIR, uninstallUnits } from '../../daemon/export/install-units.js';
import { crontab, systemdUnits } from '../../daemon/export/units.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import type { CommandContext } from '../context.js';

export function registerSchedule(program: Command, action: ActionFactory): void {
  program
    .command('schedule')
    .description(
      'print systemd timer/service units or crontab lines for the scheduled jobs; install or remove the systemd units',
    )
    .argument('<kind>', 'systemd or cron')
    .option('--install', `systemd: write the units into ${SYSTEM_UNIT_DIR} (or --unit-dir) and reload systemd`)
    .option('--uninstall', 'systemd: remove the units that --install wrote, and nothing else')
    .option('--unit-dir <dir>', `systemd: the unit directory for --install/--uninstall (default ${SYSTEM_UNIT_DIR})`)
    .option('--dry-run', 'with --install/--uninstall: print what would be written or removed, change nothing')
    .action(
      action(
        async (
          ctx: CommandContext,
          kind: string,
          opts: { install?: boolean; uninstall?: boolean; unitDir?: string; dryRun?: boolean },
        ) => {
          if ((opts.install || opts.uninstall || opts.unitDir) && kind !== 'systemd') {
            throw new LifeboatError(ErrorCode.Usage, '--install, --uninstall and --unit-dir are for systemd units', {
              hint: 'lifeboat schedule systemd --install',
            });
          }
          if (opts.install && opts.uninstall)
            throw new LifeboatError(ErrorCode.Usage, '--install and --uninstall together', {
              hint: 'give one of them',
            });
          if (opts.dryRun && !opts.install && !opts.uninstall)
            throw new LifeboatError(ErrorCode.Usage, '--dry-run goes with --install or --uninstall', {
              hint: 'lifeboat schedule systemd --install --dry-run',
            });
          if (opts.uninstall) {
            // No config needed: the units carry their own marker.
            const r = await uninstallUnits({ unitDir: opts.unitDir, dryRun: opts.dryRun });
            if (ctx.out.json) ctx.out.emit({ type: 'systemd-uninstall', dryRun: !!opts.dryRun, ...r });
            else {
              for (const p of r.removed) process.stdout.write(`${opts.dryRun ? 'would remove' : 'removed'} ${p}\n`);
              if (!r.removed.length)
                process.stdout.write(`no unit written by lifeboat in ${r.unitDir}: nothing removed\n`);
              report(ctx, r.systemctl);
            }
            return ExitCode.Success;
          }
          const loaded = requireConfig(ctx.global, 'schedule');
          // The command a unit runs: this Node binary and this CLI, by absolute path.
          const command = [process.execPath, process.argv[1]!];
          if (kind === 'cron') {
            const text = crontab(loaded, command);
            if (ctx.out.json) ctx.out.emit({ type: 'crontab', text });
            else process.stdout.write(text);
            return ExitCode.Success;
          }
          if (kind !== 'systemd')
            throw new LifeboatError(ErrorCode.Usage, `unknown scheduler "${kind}"`, {
              hint: 'lifeboat schedule systemd | lifeboat schedule cron',
            });
          const { units, problems } = systemdUnits(loaded, command);
          for (const p of problems) ctx.out.warn(p);
          if (opts.install) {
            if (!units.length)
              throw new LifeboatError(ErrorCode.Refused, 'no job has a schedule: no unit to install', {
                hint: 'give a job a schedule: in lifeboat.yaml',
              });
            const r = await installUnits(units, { unitDir: opts.unitDir, dryRun: opts.dryRun });
            const timers = units.filter((u) => u.name.endsWith('.timer')).map((u) => u.name);
            if (ctx.out.json)
              ctx.out.emit({
                type: 'systemd-install',
                dryRun: !!opts.dryRun,
                ...r,
                units: opts.dryRun ? units.map((u) => ({ name: u.name, text: markedText(u) })) : undefined,
                problems,
              });
            else {
              if (opts.dryRun)
                for (const u of units) process.stdout.write(`# ---- ${r.unitDir}/${u.name}\n${markedText(u)}\n`);
              for (const p of r.written) process.stdout.write(`${opts.dryRun ? 'would write' : 'wrote'} ${p}\n`);
              for (const p of r.removed)
                process.stdout.write(
                  `${opts.dryRun ? 'would remove' : 'removed'} ${p} (its job has no schedule any more)\n`,
                );
              report(ctx, r.systemctl);
              if (!opts.dryRun) ctx.out.info(`# enable with: systemctl enable --now ${timers.join(' ')}`);
            }
            return problems.length ? ExitCode.Failure : ExitCode.Success;
          }
          if (ctx.out.json) ctx.out.emit({ type: 'systemd', units, problems });
          else {
            for (const u of units) process.stdout.write(`# ---- /etc/systemd/system/${u.name}\n${u.text}\n`);
            ctx.out.info(
              `# enable with: systemctl daemon-reload && systemctl enable --now ${units
                .filter((u) => u.name.endsWith('.timer'))
                .map((u) => u.name)
                .join(' ')}`,
            );
          }
          return problems.length ? ExitCode.Failure : ExitCode.Success;
        },
      ),
    );
}

/** systemctl's outcome: a warning when the system's units were changed but systemd could not be told. */
function report(ctx: CommandContext, systemctl: string): void {
  if (/failed|not the running init/.test(systemctl)) ctx.out.warn(systemctl);
  else ctx.out.info(systemctl);
}
