import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { guardWithConfig } from '../../jobs/guard.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import { cacheRoot, type CommandContext } from '../context.js';
import { onAbort } from '../../util/on-abort.js';

interface Flags {
  source: string[];
  job?: string;
  reason?: string;
}

const collect = (v: string, p: string[]) => [...p, ...v.split(',').filter(Boolean)];

export function registerGuard(program: Command, action: ActionFactory): void {
  program
    .command('guard')
    .description(
      'make a verified backup, then run a command (e.g. a migration); the command is never run if the backup fails',
    )
    .argument('<command...>', 'the command to run after the backup, after `--`')
    .option(
      '--source <name>',
      'source to back up first (repeatable; default: the sources of the unscheduled pre-migration job)',
      collect,
      [],
    )
    .option('--job <name>', 'the job whose repository and keep_last apply')
    .option('--reason <text>', 'why (recorded in the snapshot), e.g. "before migration 048"')
    .action(
      action(async (ctx: CommandContext, command: string[], flags: Flags) => {
        if (!flags.reason)
          throw new LifeboatError(ErrorCode.Usage, 'guard needs --reason TEXT', {
            hint: 'lifeboat guard --source main-pg --reason "before 048" -- ./migrate.sh',
          });
        const loaded = requireConfig(ctx.global, 'guard');
        const repository =
          ctx.global.repo && loaded.config.repositories?.[ctx.global.repo] ? ctx.global.repo : undefined;
        const { backups, result } = await guardWithConfig(
          loaded,
          {
            source: flags.source.length ? flags.source : undefined,
            job: flags.job,
            repository,
            reason: flags.reason,
            signal: ctx.signal,
            cacheRoot: cacheRoot(ctx.global),
            log: (l) => ctx.out.verbose(l),
          },
          async () => {
            ctx.out.info(`verified backup stored; running: ${command.join(' ')}`);
            return runCommand(command, ctx.signal);
          },
        );
        ctx.out.emit({ type: 'summary', backups, command, exitCode: result });
        ctx.out.result(
          `${backups.map((b) => `${b.source}: snapshot ${b.snapshot.slice(0, 8)} verified`).join(', ')}; the command exited with ${result}`,
        );
        return result;
      }),
    );
}

/** Run the guarded command with the terminal; its exit code becomes ours (128+N for a signal). */
function runCommand(argv: string[], signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit' });
    const detach = onAbort(signal, () => child.kill('SIGTERM'));
    child.once('error', (err) => reject(new LifeboatError(ErrorCode.Failure, `cannot run ${argv[0]}: ${err.message}`)));
    child.once('close', (code, sig) => {
      detach();
      resolve(code ?? 128 + (sig ? (constants.signals[sig] ?? 0) : 0));
    });
  });
}
