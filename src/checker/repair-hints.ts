/**
 * Name the repair command that applies to each finding: an index that lost
 * track of packs is rebuilt from the pack headers; snapshots that reference
 * lost data are rewritten without it.
 *
 * @module
 */

import type { Finding } from './findings.js';

const HINTS: Partial<Record<Finding['kind'], string>> = {
  'unreadable-index': 'rebuild the index from the pack headers with `lifeboat repair index`',
  'unindexed-pack': 'if no backup is running, `lifeboat repair index` indexes it again (or `prune` removes it)',
  'missing-blob':
    'if `lifeboat repair index` does not find the data again, `lifeboat repair snapshots` rewrites the snapshots without it',
  'corrupt-blob':
    'back up again (damaged data still on disk is stored afresh), or `lifeboat repair snapshots` rewrites the snapshots without it',
  'corrupt-pack':
    'back up again (damaged data still on disk is stored afresh), or `lifeboat repair snapshots` rewrites the snapshots without it',
  'unreadable-tree':
    'back up again (the directories are read afresh), or `lifeboat repair snapshots` rewrites the snapshots without them',
  'missing-pack': '`lifeboat repair snapshots` rewrites the snapshots without the lost data',
  'pack-size': '`lifeboat repair snapshots` rewrites the snapshots without the lost data',
};

export function addRepairHints(findings: Finding[]): void {
  for (const f of findings) {
    if (f.hint) continue;
    const hint = f.severity === 'error' || f.kind === 'unindexed-pack' ? HINTS[f.kind] : undefined;
    if (hint) f.hint = hint;
  }
}
