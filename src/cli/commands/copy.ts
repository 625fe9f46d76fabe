import type { Command } from 'commander';
import { copy, type CopiedSnapshot, type CopyResult } from '../../copier/copy.js';
import { newCopyProgress, type CopyProgress } from '../../copier/progress.js';
import { ExitCode } from '../../errors/index.js';
import type { Repository } from '../../repository/repository.js';
import type { SnapshotEntry } from '../../repository/format/index.js';
import type { ActionFactory } from '../action.js';
import { openDestination } from '../copy-destination.js';
import { openRepository, type CommandContext } from '../context.js';
import { formatBytes, formatTime } from '../../util/format.js';
import { ProgressBar } from '../progress-bar.js';
import { copyStreams, type StreamCopyResult } from '../../sources/sqlite/continuous/stream-copy.js';
import { storedStreams } from '../../sources/sqlite/continuous/stream-inventory.js';
import { optionalConfig } from '../configured.js';

interface Flags {
  to: string;
  from?: string;
  source?: string;
  host?: string;
  tag: string[];
  dryRun?: boolean;
}

const collect = (v: string, p: string[]) => [...p, v];

export function registerCopy(program: Command, action: ActionFactory): void {
  program
    .command('copy')
    .description(
      'copy the snapshots another repository lacks into it (3-2-1): re-encrypted with its keys, deduplicated, verified',
    )
    .requiredOption(
      '--to <repo>',
      'destination: a repository name from lifeboat.yaml, or a path or URL (password from $LIFEBOAT_TO_PASSWORD, _FILE or _COMMAND)',
    )
    .option('--from <repo>', 'source repository (default: --repo, $LIFEBOAT_REPOSITORY or the only configured one)')
    .option('--source <name>', 'only snapshots of this source')
    .option('--host <name>', 'only snapshots of this host')
    .option('--tag <tag>', 'only snapshots with this tag (repeatable)', collect, [])
    .option('--dry-run', 'list the snapshots that would be copied and write nothing')
    .action(
      action(async (ctx: CommandContext, flags: Flags) => {
        const src = await openRepository({ ...ctx, global: { ...ctx.global, repo: flags.from ?? ctx.global.repo } });
        try {
          const dest = await openDestination(ctx, flags.to);
          try {
            return await runCopy(ctx, src, dest, flags);
          } finally {
            await dest.close();
          }
        } finally {
          await src.close();
        }
      }),
    );
}

async function runCopy(ctx: CommandContext, src: Repository, dest: Repository, flags: Flags): Promise<number> {
  const progress = newCopyProgress();
  let bar = progressBar(ctx, progress, Boolean(flags.dryRun));
  let result: CopyResult;
  try {
    result = await copy(src, dest, {
      source: flags.source,
      host: flags.host,
      tags: flags.tag,
      dryRun: flags.dryRun,
      progress,
      signal: ctx.signal,
      onCopied: (c) => {
        bar.stop(); // the line goes where the progress display was
        reportCopied(ctx, c);
        bar = progressBar(ctx, progress, false);
      },
    });
  } finally {
    bar.stop();
  }
  const streams = await copyContinuousStreams(ctx, src, dest, flags);
  for (const name of result.unreadable) ctx.out.warn(`${name} in the source cannot be read and was not copied`);
  for (const s of result.skipped) {
    ctx.out.verbose(`skipped ${s.snapshot.id.slice(0, 8)}: the destination holds it as ${s.heldAs.id.slice(0, 8)}`);
    ctx.out.emit({ type: 'skipped', snapshot: brief(s.snapshot), heldAs: s.heldAs.id });
  }
  if (result.copied.length + result.skipped.length + result.pending.length + (streams?.copied.length ?? 0) === 0) {
    // Nothing matched: a mistyped --source or an empty origin is said plainly, never "copied 0".
    const what = [
      flags.source && `of source "${flags.source}"`,
      flags.host && `of host "${flags.host}"`,
      flags.tag.length > 0 && `tagged ${flags.tag.join(', ')}`,
    ]
      .filter(Boolean)
      .join(' ');
    ctx.out.result(
      `nothing to copy: the origin repository holds no snapshot${what ? ` ${what}` : ''}${result.unreadable.length ? ' that can be read' : ''}`,
    );
    ctx.out.emit({
      type: 'summary',
      dryRun: Boolean(flags.dryRun),
      nothingToDo: true,
      copied: 0,
      skipped: 0,
      bytesAdded: 0,
    });
    return ExitCode.Failure;
  }
  if (flags.dryRun) {
    for (const s of result.pending) {
      ctx.out.result(
        `would copy ${s.id.slice(0, 8)}  ${formatTime(s.time)}  ${s.host}  ${s.source ?? ''}  ${formatBytes(s.summary.bytes)}  ${s.paths.join(' ')}`,
      );
      ctx.out.emit({ type: 'pending', snapshot: brief(s) });
    }
    ctx.out.result(`${result.pending.length} snapshot(s) would be copied, ${result.skipped.length} already there`);
    ctx.out.emit({
      type: 'summary',
      dryRun: true,
      copied: 0,
      wouldCopy: result.pending.length,
      skipped: result.skipped.length,
      bytesAdded: 0,
    });
    return 0;
  }
  ctx.out.result(
    `copied ${result.copied.length} snapshot(s), ${result.skipped.length} already there; ${formatBytes(result.addedBytes)} new (${formatBytes(result.storedBytes)} stored)${result.copied.length ? `; ${readAndReused(result)}` : ''}`,
  );
  ctx.out.emit({
    type: 'summary',
    copied: result.copied.length,
    skipped: result.skipped.length,
    ...(result.unreadable.length ? { unreadable: result.unreadable } : {}),
    bytesAdded: result.addedBytes,
    storedBytes: result.storedBytes,
    bytesRead: result.bytesRead,
    filesReused: result.filesReused,
    bytesReused: result.bytesReused,
  });
  // Snapshots that could not be read were not copied: the copy is incomplete.
  return result.unreadable.length ? ExitCode.Failure : ExitCode.Success;
}

/**
 * Continuous SQLite streams go along with the snapshots (re-sealed for the
 * destination); they have no host or tags, so a copy narrowed by those
 * leaves them out, and says so.
 */
async function copyContinuousStreams(
  ctx: CommandContext,
  src: Repository,
  dest: Repository,
  flags: Flags,
): Promise<StreamCopyResult | undefined> {
  if (flags.host || flags.tag.length) {
    if ((await storedStreams(src)).length)
      ctx.out.info('continuous streams not copied: --host and --tag select snapshots, and streams have neither');
    return undefined;
  }
  const r = await copyStreams(src, dest, optionalConfig(ctx.global)?.config, {
    dryRun: flags.dryRun,
    source: flags.source,
  });
  for (const c of r.copied) {
    ctx.out.result(
      `${flags.dryRun ? 'would copy' : 'copied'} the continuous stream of ${c.source}: ${c.objects} objects${flags.dryRun ? '' : ` (${formatBytes(c.bytes)})`}, ${c.present} already there${c.removedByRetention ? `, ${c.removedByRetention} past its retention removed` : ''}`,
    );
    ctx.out.emit({ type: 'stream', dryRun: Boolean(flags.dryRun), ...c });
  }
  for (const n of r.notCopied) {
    ctx.out.warn(`continuous stream ${n.stream.slice(0, 12)} (${n.objects} objects) not copied: ${n.reason}`);
    ctx.out.emit({ type: 'stream-not-copied', ...n });
  }
  return r;
}

function reportCopied(ctx: CommandContext, c: CopiedSnapshot): void {
  ctx.out.result(
    `copied ${c.from.id.slice(0, 8)} → ${c.to.id.slice(0, 8)}, ${readAndReused(c)}${c.base ? ` (against ${c.base.slice(0, 8)})` : ''}, ${formatBytes(c.addedBytes)} new`,
  );
  ctx.out.emit({
    type: 'copied',
    from: brief(c.from),
    to: c.to.id,
    addedBytes: c.addedBytes,
    storedBytes: c.storedBytes,
    bytesRead: c.bytesRead,
    filesReused: c.filesReused,
    bytesReused: c.bytesReused,
    base: c.base ?? null,
  });
}

/** What was read from the source, and what was taken from the destination's earlier copies instead. */
function readAndReused(c: { bytesRead: number; filesReused: number; bytesReused: number }): string {
  return `${formatBytes(c.bytesRead)} read from the source, ${c.filesReused} file(s) (${formatBytes(c.bytesReused)}) reused from an earlier copy`;
}

function brief(s: SnapshotEntry): Record<string, unknown> {
  return { id: s.id, time: s.time, host: s.host, source: s.source ?? null, paths: s.paths, tags: s.tags };
}

function progressBar(ctx: CommandContext, progress: CopyProgress, dryRun: boolean): ProgressBar {
  return new ProgressBar(
    () => ({
      label: `copy ${progress.snapshot?.slice(0, 8) ?? ''} (${Math.min(progress.snapshotsDone + 1, progress.snapshotsTotal)}/${progress.snapshotsTotal})`,
      files: progress.filesDone,
      bytes: progress.bytesDone,
      totalFiles: progress.totalFiles,
      totalBytes: progress.totalBytes,
    }),
    ctx.out.options.progress && !dryRun,
    ctx.out.json && !dryRun
      ? (s, elapsed) => ctx.out.emit({ type: 'progress', ...s, elapsedMs: elapsed, addedBytes: progress.bytesAdded })
      : undefined,
  ).start();
}
