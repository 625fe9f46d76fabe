/**
 * The snapshots of every configured repository, for `/api/v1/snapshots` and
 * the 3-2-1 evaluation. Reading them opens each repository and every snapshot
 * object, so the answer is kept until a job run or `ttlMs` makes it stale.
 *
 * @module
 */

import type { LifeboatConfig } from '../config/schema.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import type { SnapshotEntry } from '../repository/format/index.js';

export interface RepositorySnapshots {
  name: string;
  reachable: boolean;
  error?: string;
  snapshots: SnapshotEntry[];
  /** Snapshot objects that could not be read or are malformed (left out of `snapshots`). */
  problems: Array<{ object: string; error: string }>;
  /** The repository's id (drills record it). */
  id?: string;
  /** The repository server token's role, when the repository is reached through one. */
  accessRole?: string;
}

export class SnapshotCatalog {
  private value: RepositorySnapshots[] | undefined;
  private at = 0;
  private pending: Promise<RepositorySnapshots[]> | undefined;

  constructor(
    private readonly config: LifeboatConfig,
    private readonly cacheRoot: string | undefined,
    private readonly ttlMs = 10 * 60_000,
  ) {}

  async get(): Promise<RepositorySnapshots[]> {
    if (this.value && Date.now() - this.at < this.ttlMs) return this.value;
    this.pending ??= this.read().then(
      (v) => {
        this.value = v;
        this.at = Date.now();
        this.pending = undefined;
        return v;
      },
      (err: unknown) => {
        this.pending = undefined;
        throw err;
      },
    );
    return this.pending;
  }

  invalidate(): void {
    this.value = undefined;
  }

  private async read(): Promise<RepositorySnapshots[]> {
    const out: RepositorySnapshots[] = [];
    for (const [name, settings] of Object.entries(this.config.repositories ?? {})) {
      try {
        const repo = await openConfiguredRepository(name, settings, { cacheRoot: this.cacheRoot });
        try {
          const listed = await repo.listSnapshots();
          out.push({
            name,
            reachable: true,
            snapshots: listed.snapshots,
            problems: listed.problems.map((p) => ({ object: p.name, error: p.error.message })),
            id: repo.id,
            ...(repo.storage.accessRole ? { accessRole: repo.storage.accessRole } : {}),
          });
        } finally {
          await repo.close();
        }
      } catch (err) {
        out.push({ name, reachable: false, error: (err as Error).message, snapshots: [], problems: [] });
      }
    }
    return out;
  }
}
