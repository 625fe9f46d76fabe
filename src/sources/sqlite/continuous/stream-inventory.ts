/**
 * Which continuous SQLite streams a repository holds, and whose they are:
 * a stream's name is a keyed hash of its source's name, so it is matched
 * against the sources of the config; one that matches no continuous source
 * is an *orphan* (kept until removed on purpose, docs/sources/sqlite.md).
 * @module
 */

import type { LifeboatConfig } from '../../../config/schema.js';
import type { Repository } from '../../../repository/repository.js';
import { parseBaseName, parseSegmentName, WAL_ROOT } from './stream-names.js';
import { streamIdOf } from './stream-objects.js';

export interface StoredStream {
  stream: string;
  /** The configured sqlite source it belongs to, when one matches. */
  source?: string;
  /** Whether that source still has `continuous` (false: an orphan stream). */
  configured: boolean;
  objects: number;
  bytes: number;
  generations: number;
  /** Oldest full copy and newest shipped commit found in the names (ms). */
  oldestPointMs?: number;
  newestPointMs?: number;
}

/** Every stream under `wal/`, matched against the config's sqlite sources (none matched without a config). */
export async function storedStreams(repo: Repository, config?: LifeboatConfig): Promise<StoredStream[]> {
  const owners = new Map<string, { source: string; continuous: boolean }>();
  for (const [name, source] of Object.entries(config?.sources ?? {}))
    if (source.type === 'sqlite')
      owners.set(streamIdOf(repo, name), { source: name, continuous: Boolean(source.continuous) });
  const byStream = new Map<string, StoredStream & { gens: Set<string> }>();
  for (const o of await repo.storage.list(WAL_ROOT)) {
    const stream = o.name.slice(WAL_ROOT.length).split('/')[0];
    if (!stream) continue;
    let s = byStream.get(stream);
    if (!s) {
      const owner = owners.get(stream);
      s = {
        stream,
        source: owner?.source,
        configured: owner?.continuous ?? false,
        objects: 0,
        bytes: 0,
        generations: 0,
        gens: new Set(),
      };
      byStream.set(stream, s);
    }
    s.objects++;
    s.bytes += o.size;
    const gen = o.name.split('/')[2];
    if (gen && /^\d{13}-/.test(gen)) s.gens.add(gen);
    const base = parseBaseName(o.name);
    if (base) s.oldestPointMs = Math.min(s.oldestPointMs ?? base.ms, base.ms);
    const seg = parseSegmentName(o.name) ?? (base ? { lastMs: base.ms } : undefined);
    if (seg) s.newestPointMs = Math.max(s.newestPointMs ?? seg.lastMs, seg.lastMs);
  }
  return [...byStream.values()]
    .map(({ gens, ...s }) => ({ ...s, generations: gens.size }))
    .sort((a, b) => (a.source ?? '~' + a.stream).localeCompare(b.source ?? '~' + b.stream));
}

/** How a stream is named to people: its source, else as an orphan with the start of its id. */
export function describeStream(s: Pick<StoredStream, 'source' | 'configured' | 'stream'>): string {
  if (s.source && s.configured) return `stream of ${s.source}`;
  if (s.source) return `orphan stream of ${s.source} (no \`continuous\` any more)`;
  return `orphan stream ${s.stream.slice(0, 12)}`;
}
