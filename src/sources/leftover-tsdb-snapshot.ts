import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { gone, kept, removed, shellWord, type Removal, type RemovalContext } from '../leftovers/removal.js';
import type { ResourceOf } from '../leftovers/resource.js';

type SnapshotResource = ResourceOf<'tsdb-snapshot'>;

/** How long after the request a server may still make the snapshot: the request's own timeout, and a minute. */
export const CREATION_WINDOW_MS = 11 * 60_000;

/** The time a server put into a snapshot's name (VictoriaMetrics `20260101120000-17A…`, Prometheus `20260101T120000Z-3f…`), in ms. */
export function snapshotNameTime(engine: SnapshotResource['engine'], name: string): number | undefined {
  const m =
    engine === 'victoriametrics'
      ? /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)-[0-9A-F]+$/.exec(name)
      : /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z-[0-9a-f]+$/.exec(name);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return Date.UTC(y, mo - 1, d, h, mi, s);
}

function removalHint(r: SnapshotResource, name: string): string {
  const dir = shellWord(path.join(r.dataDir, 'snapshots', name));
  if (r.engine === 'prometheus') return `rm -rf ${dir}`;
  return `curl -X POST ${shellWord(`${r.url}/snapshot/delete?snapshot=${name}`)} (with the server's credentials if it needs them)`;
}

/**
 * Delete a server-side snapshot a killed backup left: through the API with
 * the configured source's credentials when the source still names this data
 * directory, else with the recorded address (VictoriaMetrics falls back to
 * removing the snapshot's directories, as it does after a failed backup).
 */
export async function removeTsdbSnapshot(
  r: SnapshotResource,
  source: string | null,
  ctx: RemovalContext,
): Promise<Removal> {
  if (r.snapshot === null) return unnamedSnapshot(r, ctx);
  const name = r.snapshot;
  if (!(await stat(path.join(r.dataDir, 'snapshots', name)).catch(() => undefined))) return gone;
  if (ctx.dryRun) return removed;
  const config = source === null ? undefined : ctx.sources[source];
  const same = config?.type === r.engine && path.resolve(config.data_dir) === r.dataDir ? config : undefined;
  let ok: boolean;
  if (r.engine === 'victoriametrics') {
    const { deleteVmSnapshot } = await import('./victoriametrics/driver.js');
    ok = await deleteVmSnapshot(same ?? { url: r.url, data_dir: r.dataDir }, name, ctx.log);
  } else {
    const { removePrometheusSnapshot } = await import('./prometheus/driver.js');
    ok = await removePrometheusSnapshot(r.dataDir, name, ctx.log);
  }
  return ok
    ? removed
    : kept('the server did not delete it and its directories could not be removed', removalHint(r, name));
}

/**
 * The owner died before the server answered with the name. Snapshots named
 * with a time in the request's window may be its; they are never deleted
 * without the name (another tool may have made one then), only reported.
 */
async function unnamedSnapshot(r: SnapshotResource, ctx: RemovalContext): Promise<Removal> {
  const requested = Date.parse(r.requestedAt);
  const names = await readdir(path.join(r.dataDir, 'snapshots')).catch(() => [] as string[]);
  const candidates = names.filter((n) => {
    const t = snapshotNameTime(r.engine, n);
    return t !== undefined && t >= requested - 2_000 && t <= requested + CREATION_WINDOW_MS;
  });
  if (candidates.length > 0) {
    return kept(
      `the process died before the server named the snapshot; ${candidates.join(', ')} ${candidates.length === 1 ? 'was' : 'were'} made then and may be its`,
      `if no other tool made ${candidates.length === 1 ? 'it' : 'them'}: ${candidates.map((n) => removalHint(r, n)).join('; ')}`,
    );
  }
  if (ctx.now > requested + CREATION_WINDOW_MS) return gone;
  return { status: 'waiting', why: 'the server may still be making the snapshot' };
}
