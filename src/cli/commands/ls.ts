import type { Command } from 'commander';
import { ExitCode } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { formatMode } from '../../util/format.js';
import { nsToSeconds } from '../../restorer/restore.js';
import { findSnapshot } from '../snapshot-ref.js';
import { nodeAt, walkTree } from '../../repository/snapshot-tree/index.js';
import { escapeName } from '../../util/escape-name.js';

export function registerLs(program: Command, action: ActionFactory): void {
  program
    .command('ls')
    .description('list the files of a snapshot')
    .argument('<snapshot>', 'snapshot id, prefix or "latest"')
    .argument('[path]', 'only this directory (recursively)', '/')
    .option('--source <name>', 'with "latest": newest snapshot of this source')
    .option('--host <name>', 'with "latest": newest snapshot of this host')
    .option('--long', 'show mode, size and time')
    .action(
      action(
        async (
          ctx: CommandContext,
          ref: string,
          dir: string,
          flags: { host?: string; source?: string; long?: boolean },
        ) =>
          withRepository(ctx, async (repo) => {
            await repo.prepareRead();
            const snapshot = await findSnapshot(repo, ref, { host: flags.host, source: flags.source, path: dir }, (w) =>
              ctx.out.warn(w),
            );
            const start = await nodeAt(repo, snapshot.tree, dir);
            const prefix = '/' + dir.split('/').filter(Boolean).join('/');
            // A directory whose record is damaged is named and the listing goes on (exit 1 at the end).
            const unreadable: Array<{ path: string; message: string }> = [];
            const onUnreadable = (p: string, err: Error) => unreadable.push({ path: p, message: err.message });
            const entries =
              start.type === 'dir' && start.subtree
                ? walkTree(repo, start.subtree, prefix, onUnreadable)
                : (async function* () {
                    yield { path: prefix, node: start };
                  })();
            for await (const { path, node } of entries) {
              if (ctx.out.json) {
                ctx.out.emit({
                  path,
                  type: node.type,
                  mode: node.mode,
                  uid: node.uid,
                  gid: node.gid,
                  size: node.size ?? 0,
                  mtime: new Date(nsToSeconds(node.mtimeNs) * 1000).toISOString(),
                  ...(node.target ? { target: node.target } : {}),
                  ...(node.links ? { links: node.links } : {}),
                });
              } else if (flags.long) {
                const when = new Date(nsToSeconds(node.mtimeNs) * 1000).toISOString().replace('T', ' ').slice(0, 19);
                ctx.out.result(
                  `${formatMode(node.type, node.mode)} ${escapeName(String(node.user ?? node.uid)).padEnd(8)} ${String(node.size ?? 0).padStart(12)} ${when} ${escapeName(path)}${node.target ? ` -> ${escapeName(node.target)}` : ''}`,
                );
              } else ctx.out.result(escapeName(path));
            }
            for (const u of unreadable)
              process.stderr.write(`error: ${u.path}: the directory's contents cannot be read: ${u.message}\n`);
            if (unreadable.length) {
              if (ctx.out.json)
                ctx.out.emit({
                  type: 'error',
                  error: {
                    code: 'corrupt',
                    message: `${unreadable.length} director${unreadable.length === 1 ? 'y' : 'ies'} could not be read`,
                    context: { paths: unreadable.map((u) => u.path) },
                  },
                });
              return ExitCode.Failure;
            }
            return ExitCode.Success;
          }),
      ),
    );
}
