import type { BlobWorkerPool } from './worker-pool.js';
import type { SealItem, SealResult } from './seal-worker.js';

/**
 * Groups seal requests into batches so thousands of small files cost a few
 * hundred worker round trips instead of thousands.
 */
export class SealBatcher {
  private items: SealItem[] = [];
  private waiters: Array<{ resolve: (r: SealResult) => void; reject: (e: unknown) => void }> = [];
  private bytes = 0;
  private scheduled = false;

  /** `pool` is asked for lazily: a backup with nothing to read never starts worker threads. */
  constructor(
    private readonly pool: () => BlobWorkerPool,
    private readonly maxItems = 64,
    private readonly maxBytes = 4 * 1024 * 1024,
  ) {}

  seal(item: SealItem): Promise<SealResult> {
    return new Promise((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      this.bytes += item.data?.length ?? item.file?.size ?? 0;
      if (this.items.length >= this.maxItems || this.bytes >= this.maxBytes) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.items.length === 0) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.bytes = 0;
    this.pool()
      .seal(items)
      .then(
        (results) => results.forEach((r, i) => waiters[i]!.resolve(r)),
        (err: unknown) => waiters.forEach((w) => w.reject(err)),
      );
  }
}
