import type { SnapshotEntry } from '../repository/format/index.js';
import type { SourceMetadata } from './contract.js';

/** The source facts a snapshot carries, or undefined for a plain path backup. */
export function sourceMetadata(snapshot: SnapshotEntry): SourceMetadata | undefined {
  const m = snapshot.metadata as Partial<SourceMetadata>;
  return m?.source && typeof m.source.type === 'string' && m.record && typeof m.record === 'object'
    ? (m as SourceMetadata)
    : undefined;
}
