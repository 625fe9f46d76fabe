/**
 * `unlock`: remove the locks nobody holds any more (stale: not refreshed for
 * 30 minutes, or held by a process of this host that no longer runs); live
 * locks are listed and left alone. `--remove-all` removes every lock, with a
 * warning: a process still running loses its lock and stops without saving.
 *
 * @module
 */

import type { Command } from 'commander';
import type { ListedLock } from '../../repository/stale-locks.js';
import { escapeName } from '../../util/escape-name.js';
import type { ActionFactory } from '../action.js';
import { requireChosenRepository } from '../configured.js';
import { withRepository, type CommandContext } from '../context.js';

export function registerUnlock(program: Command, action: ActionFactory): void {
  program
    .command('unlock')
    .description('remove stale locks (left by processes that died or stopped refreshing them)')
    .option(
      '--remove-all',
      'remove every lock, live ones too (only when no other lifeboat process uses the repository)',
    )
    .action(
      action(async (ctx: CommandContext, flags: { removeAll?: boolean }) => {
        requireChosenRepository(ctx.global, 'unlock', 'removes the locks of one repository');
        return withRepository(ctx, async (repo) => {
          if (flags.removeAll) repo.requireAdmin('unlock --remove-all');
          if (flags.removeAll)
            ctx.out.warn(
              'removing every lock, live ones too: a backup, prune or other command still running loses its lock and stops without saving',
            );
          const result = await repo.unlock(Boolean(flags.removeAll));
          ctx.out.emit({ type: 'summary', removeAll: Boolean(flags.removeAll), ...result });
          for (const l of result.removed) ctx.out.info(`removed ${describe(l)}`);
          for (const l of result.kept) ctx.out.info(`kept ${describe(l)}`);
          if (result.removed.length === 0 && result.kept.length === 0) ctx.out.result('no locks: nothing to remove');
          else
            ctx.out.result(
              `removed ${result.removed.length} lock(s)` +
                (result.kept.length ? `; ${result.kept.length} live lock(s) left alone` : ''),
            );
        });
      }),
    );
}

function describe(l: ListedLock): string {
  const id = l.name.slice('locks/'.length, 'locks/'.length + 8);
  if (!l.holder) return `${l.state} lock ${id} (unreadable: it names no holder)`;
  const h = l.holder;
  return `${l.state} ${h.exclusive ? 'exclusive' : 'shared'} lock ${id}: ${escapeName(h.purpose)} by pid ${h.pid} on ${escapeName(h.host)} (${escapeName(h.username)}) since ${h.time}`;
}
