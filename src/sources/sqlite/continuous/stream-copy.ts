/**
 * Copy of continuous SQLite streams to another repository (`lifeboat copy`):
 * every object the destination lacks is opened with the origin's keys and
 * sealed again with the destination's, under the destination's name for the
 * same source (stream names are keyed hashes of the source name, so only
 * streams of sources named in the config can be copied; orphans are
 * reported, not copied). Full-copy parts and segments go before manifests,
 * so an interrupted copy never leaves a full copy that looks whole but is
 * not. Afterwards the source's retention is applied at the destination.
 * @module
 */

import type { LifeboatConfig } from '../../../config/schema.js';
import type { Repository } from '../../../repository/repository.js';
import { continuousSettings } from './settings.js';
import { storedStreams } from './stream-inventory.js';
import { parseBaseName, streamPrefix } from './stream-names.js';
import { enforceStreamRetention } from './stream-retention.js';
import { getStreamObject, putStreamObject, streamIdOf } from './stream-objects.js';

export interface StreamCopyResult {
  /** Per copied stream: its source, objects copied and already there. */
  copied: Array<{ source: string; objects: number; bytes: number; present: number; removedByRetention: number }>;
  /** Streams of the origin that match no source of the config: not copied (their source name is unknown). */
  notCopied: Array<{ stream: string; objects: number; reason: string }>;
}

export async function copyStreams(
  from: Repository,
  to: Repository,
  config: LifeboatConfig | undefined,
  options: { dryRun?: boolean; source?: string; now?: () => number } = {},
): Promise<StreamCopyResult> {
  const result: StreamCopyResult = { copied: [], notCopied: [] };
  const now = options.now ?? Date.now;
  for (const s of await storedStreams(from, config)) {
    if (!s.source) {
      result.notCopied.push({
        stream: s.stream,
        objects: s.objects,
        reason: 'it matches no sqlite source of the config, so its name in the destination cannot be derived',
      });
      continue;
    }
    if (options.source !== undefined && s.source !== options.source) continue;
    const origin = await from.storage.list(streamPrefix(s.stream));
    const dstStream = streamIdOf(to, s.source);
    const present = new Set(
      (await to.storage.list(streamPrefix(dstStream))).map((o) => o.name.slice(streamPrefix(dstStream).length)),
    );
    const todo = origin
      .map((o) => o.name.slice(streamPrefix(s.stream).length))
      // Objects of generations only (the replicator's lease is not history).
      .filter((rel) => /^\d{13}-/.test(rel) && !present.has(rel))
      // Manifests last: a full copy exists once its manifest does.
      .sort((a, b) => Number(isManifest(s.stream, a)) - Number(isManifest(s.stream, b)) || (a < b ? -1 : 1));
    let bytes = 0;
    if (!options.dryRun)
      for (const rel of todo) {
        const raw = await getStreamObject(from, streamPrefix(s.stream) + rel);
        bytes += await putStreamObject(to, streamPrefix(dstStream) + rel, raw);
      }
    const source = config?.sources?.[s.source];
    const removedByRetention =
      !options.dryRun && source?.type === 'sqlite' && source.continuous
        ? await enforceStreamRetention(to, dstStream, now() - continuousSettings(source).retentionMs)
        : 0;
    result.copied.push({
      source: s.source,
      objects: todo.length,
      bytes,
      present: present.size,
      removedByRetention,
    });
  }
  return result;
}

function isManifest(stream: string, rel: string): boolean {
  return parseBaseName(streamPrefix(stream) + rel) !== undefined;
}
