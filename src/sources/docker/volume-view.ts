/**
 * One volume of a docker snapshot: a snapshot may hold several volumes, each
 * recorded on its own; a restore and its verification deal with one of them,
 * chosen with `--volume NAME` (or the only one).
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { SnapshotEntry } from '../../repository/format/index.js';

/** What the snapshot records for each volume (docs/sources/docker.md). */
export interface VolumeRecord {
  name: string;
  driver: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  files: number;
  bytes: number;
}

/** Where a volume's files are stored inside the snapshot. */
export function volumePath(name: string): string {
  return `/volumes/${name}`;
}

/** The names of the volumes a docker record holds. */
export function recordedVolumes(record: Record<string, unknown>): string[] | undefined {
  const volumes = record.volumes as VolumeRecord[] | undefined;
  return Array.isArray(volumes) ? volumes.map((v) => v.name) : undefined;
}

/** The snapshot as one of its volumes (a view already of one volume is returned as it is). */
export function volumeView(snapshot: SnapshotEntry, volume: string | undefined): SnapshotEntry {
  const meta = snapshot.metadata as { record?: { volumes?: VolumeRecord[]; name?: string } };
  if (!meta.record?.volumes && typeof meta.record?.name === 'string') {
    if (volume !== undefined && volume !== meta.record.name)
      throw new LifeboatError(ErrorCode.NotFound, `this copy holds volume "${meta.record.name}", not "${volume}"`);
    return snapshot;
  }
  const volumes = meta.record?.volumes ?? [];
  const id = snapshot.id.slice(0, 8);
  const names = volumes.map((v) => v.name);
  if (volume === undefined && volumes.length !== 1)
    throw new LifeboatError(
      ErrorCode.Usage,
      `snapshot ${id} holds ${volumes.length} volumes (${names.join(', ')}): name the one to restore with --volume NAME`,
      { hint: 'restore each volume with its own command' },
    );
  const one = volume === undefined ? volumes[0] : volumes.find((v) => v.name === volume);
  if (!one)
    throw new LifeboatError(
      ErrorCode.NotFound,
      `snapshot ${id} holds no volume "${volume}"; it holds: ${names.join(', ')}`,
      {
        hint: 'choose one of those with --volume NAME',
      },
    );
  return { ...snapshot, metadata: { ...snapshot.metadata, record: one } };
}
