/** What `check` reports: each finding names what is damaged and what it affects. */
export interface Affected {
  snapshot: string;
  paths: string[];
}

/** One problem `check` found: its severity, kind, the object, pack or snapshot, and what is affected. */
export interface Finding {
  severity: 'error' | 'warning';
  kind:
    | 'unreadable-index'
    | 'missing-pack'
    | 'pack-size'
    | 'unindexed-pack'
    | 'corrupt-pack'
    | 'corrupt-blob'
    | 'missing-blob'
    | 'unreadable-snapshot'
    | 'unreadable-tree'
    | 'unreadable-key'
    | 'no-key-slot'
    | 'stream-gap'
    | 'stream-without-full-copy'
    | 'incomplete-full-copy'
    | 'corrupt-stream-object';
  message: string;
  /** What to do about it (e.g. the repair command that applies). */
  hint?: string;
  pack?: string;
  object?: string;
  affected?: Affected[];
}

/** What `check` found: `ok` when no finding is an error, the counts, and every finding. */
export interface CheckReport {
  ok: boolean;
  snapshots: number;
  packs: number;
  blobs: number;
  packsRead: number;
  bytesRead: number;
  /** Continuous SQLite streams verified (set by callers that check streams too). */
  streams?: number;
  streamObjects?: number;
  findings: Finding[];
}
