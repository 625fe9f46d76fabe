/**
 * `stats`: the repository's size by area, and for the chosen snapshots (all
 * by default) the raw, unique and stored bytes and the deduplication ratio,
 * together, per source and per snapshot. Each figure is defined in
 * docs/cli.md.
 *
 * @module
 */

import type { Command } from 'commander';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { repositoryStats, type StatsProgress, type StoredFigures } from '../../repository/stats.js';
import { escapeName } from '../../util/escape-name.js';
import { formatBytes, formatTime, table } from '../../util/format.js';
import type { ActionFactory } from '../action.js';
import { withRepository, type CommandContext } from '../context.js';
import { ProgressBar } from '../progress-bar.js';
import { chooseSnapshots } from '../snapshot-ref.js';

interface Flags {
  source?: string;
  host?: string;
  tag: string[];
}

const ratio = (r: number | null) => (r === null ? '-' : `${r.toFixed(2)}x`);

export function registerStats(program: Command, action: ActionFactory): void {
  program
    .command('stats')
    .description('repository size, and raw vs stored bytes and deduplication of snapshots, per source and snapshot')
    .argument('[snapshots...]', 'snapshot ids, prefixes or "latest"; none: every snapshot matching the filters')
    .option('--source <name>', 'only snapshots of this source (and the source "latest" means)')
    .option('--host <name>', 'only snapshots of this host')
    .option('--tag <tag>', 'only snapshots with this tag (repeatable)', (v: string, p: string[]) => [...p, v], [])
    .action(
      action(async (ctx: CommandContext, refs: string[], flags: Flags) =>
        withRepository(ctx, async (repo) => {
          const chosen = await chooseSnapshots(
            repo,
            refs,
            { source: flags.source, host: flags.host, tags: flags.tag },
            (w) => ctx.out.warn(w),
          );
          if (chosen.length === 0 && (refs.length || flags.source || flags.host || flags.tag.length))
            throw new LifeboatError(ErrorCode.NotFound, 'no snapshot matches the --source/--host/--tag given', {
              hint: 'list them with `lifeboat snapshots`',
            });
          let progress: StatsProgress = { snapshotsDone: 0, snapshotsTotal: chosen.length, files: 0, bytes: 0 };
          const bar = new ProgressBar(
            () => ({
              label: 'stats',
              files: progress.files,
              bytes: progress.bytes,
              totalFiles: undefined,
            }),
            ctx.out.options.progress,
            ctx.out.json
              ? (_s, elapsed) => ctx.out.emit({ type: 'progress', ...progress, elapsedMs: elapsed })
              : undefined,
          ).start();
          let stats;
          try {
            stats = await repositoryStats(repo, chosen, { onProgress: (p) => (progress = p), signal: ctx.signal });
          } finally {
            bar.stop();
          }
          ctx.out.emit({ type: 'summary', ...stats });
          const areas = Object.entries(stats.repository.areas)
            .filter(([, a]) => a.objects > 0)
            .map(([name, a]) => [name === 'data' ? 'data (packs)' : name, String(a.objects), formatBytes(a.bytes)]);
          areas.push(['total', String(stats.repository.totalObjects), formatBytes(stats.repository.totalBytes)]);
          ctx.out.result(`repository ${repo.storage.location}\n${table(['AREA', 'OBJECTS', 'SIZE'], areas)}\n`);
          if (chosen.length === 0) {
            ctx.out.result('no snapshots: nothing to measure');
            return;
          }
          const row = (name: string, count: string, f: StoredFigures) => [
            name,
            count,
            String(f.files),
            formatBytes(f.rawBytes),
            formatBytes(f.uniqueBytes),
            formatBytes(f.storedBytes),
            ratio(f.dedupRatio),
            ratio(f.compressionRatio),
          ];
          const head = ['', 'SNAPSHOTS', 'FILES', 'RAW', 'UNIQUE', 'STORED', 'DEDUP', 'COMPRESSION'];
          ctx.out.result(
            table(head, [
              row('selection', String(stats.selection.snapshots), stats.selection),
              ...stats.sources.map((s) =>
                row(s.source === null ? '(path backups)' : `source ${escapeName(s.source)}`, String(s.snapshots), s),
              ),
            ]) + '\n',
          );
          ctx.out.info(
            table(
              ['SNAPSHOT', 'TIME', 'SOURCE', 'FILES', 'RAW', 'UNIQUE', 'STORED', 'DEDUP'],
              stats.snapshots.map((s) => [
                s.id.slice(0, 8),
                formatTime(s.time),
                escapeName(s.source ?? ''),
                String(s.files),
                formatBytes(s.rawBytes),
                formatBytes(s.uniqueBytes),
                formatBytes(s.storedBytes),
                ratio(s.dedupRatio),
              ]),
            ),
          );
          const missing = stats.selection.missingBlobs;
          if (missing > 0) {
            ctx.out.warn(
              `${missing} blob(s) the snapshots reference are in no index: they count in no byte figure; run \`lifeboat check\``,
            );
            return 1;
          }
        }),
      ),
    );
}
