/**
 * Verification of continuous SQLite streams for `lifeboat check`: every
 * generation must start with a whole full copy and its segments must chain
 * from it without a gap; with read-data every object is also decrypted and
 * authenticated, and each segment's header must continue the one before it.
 * Read-only.
 * @module
 */

import type { Finding } from '../../../checker/findings.js';
import type { LifeboatConfig } from '../../../config/schema.js';
import type { Repository } from '../../../repository/repository.js';
import { listStream, type ListedGeneration } from './stream-listing.js';
import { basePartName } from './stream-names.js';
import { decodeSegment, getStreamObject, type BaseManifest } from './stream-objects.js';
import { describeStream, storedStreams } from './stream-inventory.js';

export interface StreamCheck {
  stream: string;
  generations: number;
  objects: number;
  objectsRead: number;
  findings: Finding[];
}

/** Check one stream; `readData` reads and authenticates every segment and full-copy part as well. */
export async function checkStream(
  repo: Repository,
  stream: string,
  options: { readData?: boolean; label?: string } = {},
): Promise<StreamCheck> {
  const label = options.label ?? `stream ${stream.slice(0, 12)}`;
  const listing = await listStream(repo, stream);
  const findings: Finding[] = [];
  let objectsRead = 0;
  const read = async (name: string): Promise<Buffer | undefined> => {
    try {
      objectsRead++;
      return await getStreamObject(repo, name);
    } catch (err) {
      findings.push({
        severity: 'error',
        kind: 'corrupt-stream-object',
        object: name,
        message: `${label}: object ${name} cannot be read or authenticated: ${(err as Error).message}`,
        hint: 'points of the stream that need it cannot be restored; a new full copy (restart the replicator) makes later points whole again',
      });
      return undefined;
    }
  };
  for (const g of listing.generations) {
    const start = await wholeFullCopy(g, read, findings, label, options.readData ?? false);
    if (!start) {
      if (g.segments.length)
        findings.push({
          severity: 'error',
          kind: 'stream-without-full-copy',
          object: g.name,
          message: `${label}: generation ${g.name} has ${g.segments.length} segments but no whole full copy to apply them to`,
          hint: 'no point of this generation can be restored; newer generations are not affected',
        });
      continue;
    }
    await walkSegments(g, start, read, findings, label, options.readData ?? false);
  }
  return { stream, generations: listing.generations.length, objects: listing.objects, objectsRead, findings };
}

/** The oldest full copy of the generation whose manifest opens and whose parts are all there (and read, with readData). */
async function wholeFullCopy(
  g: ListedGeneration,
  read: (name: string) => Promise<Buffer | undefined>,
  findings: Finding[],
  label: string,
  readData: boolean,
): Promise<{ index: number; frame: number } | undefined> {
  const names = new Set(g.objects.map((o) => o.name));
  let found: { index: number; frame: number } | undefined;
  for (const b of g.bases) {
    const raw = await read(b.name);
    if (!raw) continue;
    const m = JSON.parse(raw.toString('utf8')) as BaseManifest;
    let whole = true;
    for (let p = 0; p < m.parts; p++) {
      const part = basePartName(b.name, p);
      if (!names.has(part)) {
        whole = false;
        findings.push({
          severity: 'error',
          kind: 'incomplete-full-copy',
          object: part,
          message: `${label}: full copy ${b.name} lacks part ${p} of ${m.parts}`,
        });
      } else if (readData && !(await read(part))) whole = false;
    }
    if (whole && !found) found = { index: m.index, frame: m.frame };
  }
  return found;
}

/** Follow the chain of segments from a full copy as a restore would; a stored segment beyond where it stops is a gap. */
async function walkSegments(
  g: ListedGeneration,
  from: { index: number; frame: number },
  read: (name: string) => Promise<Buffer | undefined>,
  findings: Finding[],
  label: string,
  readData: boolean,
): Promise<void> {
  let pos = from;
  const longest = (list: ListedGeneration['segments']) => [...list].sort((a, b) => b.last - a.last)[0];
  for (;;) {
    const next =
      longest(g.segments.filter((s) => s.index === pos.index && s.first === pos.frame + 1)) ??
      longest(g.segments.filter((s) => s.index === pos.index + 1 && s.first === 1));
    if (!next) break;
    if (readData) {
      const raw = await read(next.name);
      if (!raw) return;
      try {
        const { header } = decodeSegment(next.name, raw);
        if (header.prev.index !== pos.index || header.prev.frame !== pos.frame || header.generation !== g.name)
          throw new Error(`it does not continue frame ${pos.frame} of log ${pos.index}`);
      } catch (err) {
        findings.push({
          severity: 'error',
          kind: 'corrupt-stream-object',
          object: next.name,
          message: `${label}: segment ${next.name} is not usable: ${(err as Error).message}`,
        });
        return;
      }
    }
    pos = { index: next.index, frame: next.last };
  }
  const after = g.segments.find((s) => s.index > pos.index || (s.index === pos.index && s.first > pos.frame));
  if (after)
    findings.push({
      severity: 'error',
      kind: 'stream-gap',
      object: after.name,
      message: `${label}: generation ${g.name} has a gap after frame ${pos.frame} of log ${pos.index} (next stored segment: ${after.name}); points after it cannot be restored`,
      hint: 'restore to a time before the gap; the replicator starts a new generation at its next start',
    });
}

/** Check every stream the repository holds (named after the config's sources where they match). */
export async function checkStreams(
  repo: Repository,
  config: LifeboatConfig | undefined,
  options: { readData?: boolean } = {},
): Promise<{ streams: number; objects: number; findings: Finding[] }> {
  const stored = await storedStreams(repo, config);
  const findings: Finding[] = [];
  let objects = 0;
  for (const s of stored) {
    const checked = await checkStream(repo, s.stream, { readData: options.readData, label: describeStream(s) });
    objects += checked.objects;
    findings.push(...checked.findings);
  }
  return { streams: stored.length, objects, findings };
}
