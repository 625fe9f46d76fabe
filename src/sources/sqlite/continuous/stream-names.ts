/**
 * Names of the objects of a continuous SQLite stream (repository-format.md §15):
 *
 *   wal/<stream>/<generation>/base/<index>-<frame>-<ms>          a full copy's manifest
 *   wal/<stream>/<generation>/base/<index>-<frame>-<ms>.<part>   its parts
 *   wal/<stream>/<generation>/seg/<yyyymmddhh>/<index>-<first>-<last>-<firstMs>-<lastMs>
 *
 * index, frame, first, last, part: 8 (part: 4) lowercase hex digits; ms: 13
 * decimal digits of Unix milliseconds; the hour folder is the UTC hour of the
 * segment's first commit. Every field sorts as text in the order it means.
 */

export const WAL_ROOT = 'wal/';

export interface SegmentName {
  generation: string;
  index: number;
  first: number;
  last: number;
  firstMs: number;
  lastMs: number;
}

export interface BaseName {
  generation: string;
  index: number;
  frame: number;
  ms: number;
}

const hex8 = (n: number) => n.toString(16).padStart(8, '0');
const ms13 = (n: number) => String(n).padStart(13, '0');

export function streamPrefix(stream: string): string {
  return `${WAL_ROOT}${stream}/`;
}

export function generationPrefix(stream: string, generation: string): string {
  return `${streamPrefix(stream)}${generation}/`;
}

export function newGenerationName(now: number, random: string): string {
  return `${ms13(now)}-${random}`;
}

export function generationStartMs(generation: string): number {
  return Number(generation.slice(0, 13));
}

export function hourFolder(ms: number): string {
  return new Date(ms).toISOString().slice(0, 13).replace(/[-T]/g, '');
}

export function segmentName(stream: string, s: SegmentName): string {
  return `${generationPrefix(stream, s.generation)}seg/${hourFolder(s.firstMs)}/${hex8(s.index)}-${hex8(s.first)}-${hex8(s.last)}-${ms13(s.firstMs)}-${ms13(s.lastMs)}`;
}

export function baseName(stream: string, b: BaseName): string {
  return `${generationPrefix(stream, b.generation)}base/${hex8(b.index)}-${hex8(b.frame)}-${ms13(b.ms)}`;
}

export function basePartName(manifest: string, part: number): string {
  return `${manifest}.${part.toString(16).padStart(4, '0')}`;
}

const SEGMENT =
  /^wal\/([0-9a-f]+)\/(\d{13}-[0-9a-f]+)\/seg\/\d{10}\/([0-9a-f]{8})-([0-9a-f]{8})-([0-9a-f]{8})-(\d{13})-(\d{13})$/;
const BASE = /^wal\/([0-9a-f]+)\/(\d{13}-[0-9a-f]+)\/base\/([0-9a-f]{8})-([0-9a-f]{8})-(\d{13})$/;
const GENERATION = /^wal\/[0-9a-f]+\/(\d{13}-[0-9a-f]+)\//;

export function parseSegmentName(name: string): SegmentName | undefined {
  const m = SEGMENT.exec(name);
  if (!m) return undefined;
  return {
    generation: m[2]!,
    index: parseInt(m[3]!, 16),
    first: parseInt(m[4]!, 16),
    last: parseInt(m[5]!, 16),
    firstMs: Number(m[6]),
    lastMs: Number(m[7]),
  };
}

export function parseBaseName(name: string): BaseName | undefined {
  const m = BASE.exec(name);
  if (!m) return undefined;
  return { generation: m[2]!, index: parseInt(m[3]!, 16), frame: parseInt(m[4]!, 16), ms: Number(m[5]) };
}

export function generationOf(name: string): string | undefined {
  return GENERATION.exec(name)?.[1];
}
