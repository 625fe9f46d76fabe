import type { Repository } from '../../../repository/repository.js';
import {
  generationOf,
  parseBaseName,
  parseSegmentName,
  streamPrefix,
  type BaseName,
  type SegmentName,
} from './stream-names.js';

export interface ListedGeneration {
  name: string;
  /** Full copies whose manifest exists, oldest first. */
  bases: Array<BaseName & { name: string }>;
  /** Segments ordered by position (index, first frame; the longest first when two start at one frame). */
  segments: Array<SegmentName & { name: string }>;
  /** Every object of the generation (manifests, parts, segments). */
  objects: Array<{ name: string; size: number }>;
}

export interface StreamListing {
  /** Oldest first (generation names sort by their start time). */
  generations: ListedGeneration[];
  objects: number;
  bytes: number;
}

/** Everything stored for one stream, grouped by generation. */
export async function listStream(repo: Repository, stream: string): Promise<StreamListing> {
  const listed = await repo.storage.list(streamPrefix(stream));
  const byGen = new Map<string, ListedGeneration>();
  let bytes = 0;
  for (const o of listed) {
    const gen = generationOf(o.name);
    if (!gen) continue;
    bytes += o.size;
    let g = byGen.get(gen);
    if (!g) byGen.set(gen, (g = { name: gen, bases: [], segments: [], objects: [] }));
    g.objects.push(o);
    const seg = parseSegmentName(o.name);
    if (seg) g.segments.push({ ...seg, name: o.name });
    const base = parseBaseName(o.name);
    if (base) g.bases.push({ ...base, name: o.name });
  }
  const generations = [...byGen.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const g of generations) {
    g.bases.sort((a, b) => a.index - b.index || a.frame - b.frame || a.ms - b.ms);
    g.segments.sort((a, b) => a.index - b.index || a.first - b.first || b.last - a.last);
  }
  return { generations, objects: listed.length, bytes };
}
