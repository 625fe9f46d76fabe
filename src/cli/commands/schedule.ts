import type { Command } from 'commander';
import { crontab, systemdUnits } from '../../daemon/export/units.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import type { CommandContext } from '../context.js';

export function registerSchedule(program: Command, action: ActionFactory): void {
  program
    .command('schedule')
    .description('print systemd timer/service units or crontab lines for the scheduled jobs')
    .argument('<kind>', 'systemd or cron')
    .action(
      action(async (ctx: CommandContext, kind: string) => {
        const loaded = requireConfig(ctx.global, 'schedule');
        // The command a unit runs: this Node binary and this CLI, by absolute path.
        const command = [process.execPath, process.argv[1]!];
        if (kind === 'cron') {
          const text = crontab(loaded, command);
          if (ctx.out.json) ctx.out.emit({ type: 'crontab', text });
          else process.stdout.write(text);
          return ExitCode.Success;
        }
        if (kind !== 'systemd') throw new LifeboatError(ErrorCode.Usage, `unknown scheduler "${kind}"`, { hint: 'lifeboat schedule systemd | lifeboat schedule cron' });
        const { units, problems } = systemdUnits(loaded, command);
        for (const p of problems) ctx.out.warn(p);
        if (ctx.out.json) ctx.out.emit({ type: 'systemd', units, problems });
        else {
          for (const u of units) process.stdout.write(`# ---- /etc/systemd/system/${u.name}\n${u.text}\n`);
          ctx.out.info(`# enable with: systemctl daemon-reload && systemctl enable --now ${units.filter((u) => u.name.endsWith('.timer')).map((u) => u.name).join(' ')}`);
        }
        return problems.length ? ExitCode.Failure : ExitCode.Success;
      }),
    );
}
