/**
 * Space and reachability of each configured repository, from its storage
 * alone (no password needed). A removable repository whose drive is absent is
 * `connected: false` and is not touched. Listing a big repository to sum its
 * size is not free, so the daemon keeps the answer for `ttlMs`.
 *
 * @module
 */

import type { LifeboatConfig } from '../config/schema.js';
import { remoteSettingsOf } from '../config/repository-access.js';
import { isConnected } from '../storage/mount-check.js';
import { openStorage } from '../storage/registry.js';
import type { SpaceView } from '../alerts/rules.js';

export interface StorageState extends SpaceView {
  error?: string;
}

export async function readStorageState(config: LifeboatConfig): Promise<StorageState[]> {
  const out: StorageState[] = [];
  for (const [name, r] of Object.entries(config.repositories ?? {})) {
    const local = !/^[a-z][a-z0-9+.-]*:\/\//i.test(r.url) || r.url.startsWith('file://');
    if (r.require_mount && local && !isConnected(r.url.replace(/^file:\/\//, ''), undefined, r.mount_point)) {
      out.push({ repository: name, connected: false });
      continue;
    }
    try {
      const storage = await openStorage(r.url, { remote: remoteSettingsOf(r) });
      try {
        const s = await storage.space();
        out.push({
          repository: name,
          connected: true,
          usedBytes: s.usedBytes,
          availableBytes: s.availableBytes,
          totalBytes: s.totalBytes,
        });
      } finally {
        await storage.close();
      }
    } catch (err) {
      out.push({ repository: name, connected: false, error: (err as Error).message });
    }
  }
  return out;
}

export class StorageCache {
  private value: StorageState[] | undefined;
  private at = 0;
  private pending: Promise<StorageState[]> | undefined;

  constructor(
    private readonly config: LifeboatConfig,
    private readonly ttlMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get(): Promise<StorageState[]> {
    if (this.value && this.now() - this.at < this.ttlMs) return this.value;
    this.pending ??= readStorageState(this.config).then((v) => {
      this.value = v;
      this.at = this.now();
      this.pending = undefined;
      return v;
    });
    return this.pending;
  }

  /** Forget the cached answer (after a job wrote to a repository). */
  invalidate(): void {
    this.value = undefined;
  }
}
