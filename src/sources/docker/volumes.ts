/**
 * Which volumes a docker source backs up: the names and globs of `volumes:`
 * and every named volume mounted by the containers of `containers:`, as the
 * engine lists them now. What matches nothing is returned, never dropped.
 *
 * @module
 */

import { minimatch } from 'minimatch';
import type { EngineApi } from './engine-api.js';

/** A volume as `GET /volumes` and `GET /volumes/NAME` describe it. */
export interface EngineVolume {
  Name: string;
  Driver: string;
  Mountpoint: string;
  Labels: Record<string, string> | null;
  Options: Record<string, string> | null;
  Scope?: string;
}

/** A container as `GET /containers/json?all=true` lists it. */
export interface EngineContainer {
  Id: string;
  Names: string[];
  State: string;
  Mounts?: Array<{ Type: string; Name?: string }>;
}

export interface VolumeSelection {
  volumes: EngineVolume[];
  /** Names, globs and containers that matched nothing, with why. */
  unmatched: Array<{ input: string; message: string }>;
}

const GLOB = /[*?[\]{}]/;

export function containerName(c: EngineContainer): string {
  return (c.Names[0] ?? c.Id.slice(0, 12)).replace(/^\//, '');
}

/** The named volumes a container mounts. */
export function mountedVolumes(c: EngineContainer): string[] {
  return (c.Mounts ?? []).filter((m) => m.Type === 'volume' && m.Name).map((m) => m.Name!);
}

export async function listVolumes(api: EngineApi): Promise<EngineVolume[]> {
  const listed = await api.get<{ Volumes: EngineVolume[] | null }>('/volumes');
  return listed.Volumes ?? [];
}

export async function listContainers(api: EngineApi): Promise<EngineContainer[]> {
  return (await api.get<EngineContainer[] | null>('/containers/json', { all: 'true' })) ?? [];
}

export function selectVolumes(
  all: EngineVolume[],
  containers: EngineContainer[],
  wanted: { volumes?: string[]; containers?: string[] },
): VolumeSelection {
  const names = new Set<string>();
  const unmatched: VolumeSelection['unmatched'] = [];
  for (const pattern of wanted.volumes ?? []) {
    const hits = GLOB.test(pattern)
      ? all.filter((v) => minimatch(v.Name, pattern, { dot: true }))
      : all.filter((v) => v.Name === pattern);
    if (hits.length === 0)
      unmatched.push({
        input: `volume ${pattern}`,
        message: GLOB.test(pattern) ? 'no volume matches this glob' : 'no such volume',
      });
    for (const v of hits) names.add(v.Name);
  }
  for (const wantedName of wanted.containers ?? []) {
    const c = containers.find((x) => x.Names.some((n) => n.replace(/^\//, '') === wantedName));
    if (!c) {
      unmatched.push({ input: `container ${wantedName}`, message: 'no such container' });
      continue;
    }
    const mounted = mountedVolumes(c);
    if (mounted.length === 0)
      unmatched.push({ input: `container ${wantedName}`, message: 'this container mounts no named volume' });
    for (const n of mounted) names.add(n);
  }
  const volumes = all.filter((v) => names.has(v.Name)).sort((a, b) => (a.Name < b.Name ? -1 : 1));
  return { volumes, unmatched };
}

/** The containers that mount any of these volumes (running or not). */
export function containersUsing(containers: EngineContainer[], volumes: readonly string[]): EngineContainer[] {
  const wanted = new Set(volumes);
  return containers.filter((c) => mountedVolumes(c).some((n) => wanted.has(n)));
}
