import type { SourceConfig } from '../config/source-schemas.js';
import type { ResourceOf } from './resource.js';

/** What the sweep did with one resource of a dead owner. */
export type Removal =
  /** Removed (with --dry-run: would be). */
  | { status: 'removed' }
  /** Already gone (the process exited, nothing was made): only the record is dropped. */
  | { status: 'gone' }
  /** Not decidable yet (a server may still be making the snapshot); looked at again next time. */
  | { status: 'waiting'; why: string }
  /** Could not be removed: it stays recorded; `hint` says how to remove it by hand. */
  | { status: 'kept'; why: string; hint: string };

export interface RemovalContext {
  /** The configured sources: credentials come from the source of the recorded name. */
  sources: Record<string, SourceConfig>;
  dryRun: boolean;
  now: number;
  log: (line: string) => void;
}

export const removed: Removal = { status: 'removed' };
export const gone: Removal = { status: 'gone' };

export function kept(why: string, hint: string): Removal {
  return { status: 'kept', why, hint };
}

/** A word for a shell command line in a hint. */
export function shellWord(text: string): string {
  return /^[A-Za-z0-9_./:@%=+-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/** The resource kinds sources make on servers, which only the source layer knows how to remove. */
export type SourceResourceKind = 'database' | 'tsdb-snapshot' | 'held-container';

/** Removes one recorded resource of a dead owner; `source` is the name of the source it was made for. */
export type Remover<K extends SourceResourceKind> = (
  resource: ResourceOf<K>,
  source: string | null,
  ctx: RemovalContext,
) => Promise<Removal>;

/**
 * How to remove what sources leave behind, one remover per resource kind. The source layer
 * declares them (sources/leftover-removers.ts) and whoever runs the sweep hands them to it, so
 * this folder, below the sources, never imports them. Processes and directories need no source:
 * the sweep removes those itself.
 */
export type SourceRemovers = { [K in SourceResourceKind]: Remover<K> };
