/**
 * `tag`: add, remove or set the tags of snapshots. A snapshot is immutable,
 * so each change stores a new snapshot (same data, new tags, `original`
 * naming the old one) and removes the old one as `forget` does (audit record,
 * tombstone): the snapshot's id changes, and the command prints the new one.
 *
 * @module
 */

import type { Command } from 'commander';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { retag } from '../../retention/retag.js';
import { stateDir } from '../../state/state-dir.js';
import { escapeName } from '../../util/escape-name.js';
import type { ActionFactory } from '../action.js';
import { optionalConfig, requireChosenRepository } from '../configured.js';
import { withRepository, type CommandContext } from '../context.js';
import { chooseSnapshots } from '../snapshot-ref.js';

interface Flags {
  add: string[];
  remove: string[];
  set?: string[];
  source?: string;
  host?: string;
  tag: string[];
}

const collect = (v: string, p: string[] | undefined) => [...(p ?? []), ...v.split(',').filter(Boolean)];

export function registerTag(program: Command, action: ActionFactory): void {
  program
    .command('tag')
    .description('add, remove or set the tags of snapshots (each changed snapshot gets a new id)')
    .argument(
      '[snapshots...]',
      'snapshot ids, prefixes or "latest"; none: every snapshot matching --source/--host/--tag',
    )
    .option('--add <tag>', 'add this tag (repeatable, or comma-separated)', collect, [])
    .option('--remove <tag>', 'remove this tag (repeatable, or comma-separated)', collect, [])
    .option(
      '--set <tag>',
      'replace all tags with these (repeatable, or comma-separated; --set "" clears them)',
      collect,
    )
    .option('--source <name>', 'only snapshots of this source (and the source "latest" means)')
    .option('--host <name>', 'only snapshots of this host')
    .option('--tag <tag>', 'without snapshot arguments: only snapshots that carry this tag (repeatable)', collect, [])
    .action(
      action(async (ctx: CommandContext, refs: string[], flags: Flags) => {
        requireChosenRepository(ctx.global, 'tag', 'rewrites snapshots of one repository');
        if (refs.length === 0 && !flags.source && !flags.host && flags.tag.length === 0)
          throw new LifeboatError(ErrorCode.Usage, 'name the snapshots to tag', {
            hint: 'give snapshot ids or "latest", or select them with --source, --host or --tag',
          });
        const loaded = optionalConfig(ctx.global);
        return withRepository(ctx, async (repo) => {
          const chosen = await chooseSnapshots(
            repo,
            refs,
            { source: flags.source, host: flags.host, tags: flags.tag },
            (w) => ctx.out.warn(w),
          );
          if (chosen.length === 0)
            throw new LifeboatError(ErrorCode.NotFound, 'no snapshot matches the --source/--host/--tag given', {
              hint: 'list them with `lifeboat snapshots`',
            });
          const result = await retag(
            repo,
            chosen,
            { add: flags.add, remove: flags.remove, ...(flags.set ? { set: flags.set } : {}) },
            { stateDir: stateDir(loaded?.config.state_dir), signal: ctx.signal },
          );
          ctx.out.emit({ type: 'summary', ...result, audit: result.audit ?? null });
          const tags = (t: string[]) => (t.length ? t.map(escapeName).join(',') : '(none)');
          for (const c of result.changed)
            ctx.out.info(`${c.snapshot.slice(0, 8)} -> ${c.replacedBy!.slice(0, 8)}  tags ${tags(c.tagsAfter)}`);
          for (const u of result.unchanged)
            ctx.out.info(`${u.snapshot.slice(0, 8)}  unchanged  tags ${tags(u.tagsAfter)}`);
          ctx.out.result(
            `${result.changed.length} snapshot(s) retagged, ${result.unchanged.length} already as asked` +
              (result.changed.length ? ' (retagged snapshots have new ids)' : ''),
          );
        });
      }),
    );
}
