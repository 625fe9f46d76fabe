import { ErrorCode, isLifeboatError, type LifeboatError } from '../../errors/index.js';
import type { Storage } from '../../storage/contract.js';
import { mapLimit } from '../../util/map-limit.js';
import type { IndexFile } from '../format/index.js';
import type { MasterIndex } from './master-index.js';

export interface IndexProblem {
  name: string;
  error: LifeboatError;
}

/** Listing rounds of one load when index files vanish between listing and reading. */
const ROUNDS = 3;

/**
 * The index files loaded into a `MasterIndex`, and loading them again while
 * the repository changes under a reader that holds no lock. A load lists
 * `index/`, reads only the files not read yet, and forgets the files that are
 * gone. A prune sweep removes index files only after writing the consolidated
 * files that replace them, and deletes packs only after that: so the packs
 * that only removed files named are deleted (or about to be) and are set
 * aside, and their blobs are found in the packs the new files name. After a
 * load the reader sees what a reader starting now would see.
 *
 * Loads run one at a time. A caller that needs a load started after some
 * moment (`loadAfter`) gets the latest load if it started later (running or
 * done), or else the one queued behind the running load, which serves every
 * caller waiting at the time.
 */
export class IndexFiles {
  /** Pack ids named by each loaded index file. */
  private readonly packsOf = new Map<string, string[]>();
  private started = 0;
  /** The last load started, and whether it is still running. */
  private latest: { no: number; done: Promise<IndexProblem[]>; running: boolean } | undefined;
  private queued: Promise<IndexProblem[]> | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly read: (name: string) => Promise<IndexFile>,
    private readonly index: MasterIndex,
  ) {}

  /** Loads started so far: `loadAfter(mark())` waits for a load that starts after now. */
  mark(): number {
    return this.started;
  }

  /** Load what changed since the last load. Returns the index files that could not be read. */
  load(): Promise<IndexProblem[]> {
    return this.loadAfter(this.mark());
  }

  /** A load that started after `mark` was taken: the latest one if it did, else the next one. */
  loadAfter(mark: number): Promise<IndexProblem[]> {
    if (this.latest && this.latest.no > mark) return this.latest.done;
    if (this.queued) return this.queued; // it starts later than any mark taken so far
    if (!this.latest?.running) return this.start();
    this.queued = this.settled().then(() => {
      this.queued = undefined;
      return this.start();
    });
    return this.queued;
  }

  /** Resolves once the load in progress, if any, has finished (whatever its outcome). */
  async settled(): Promise<void> {
    if (this.latest?.running) await this.latest.done.catch(() => undefined);
  }

  private start(): Promise<IndexProblem[]> {
    const run = { no: ++this.started, done: this.loadOnce(), running: true };
    this.latest = run;
    const finished = () => {
      run.running = false;
    };
    run.done.then(finished, finished);
    return run.done;
  }

  private async loadOnce(): Promise<IndexProblem[]> {
    const problems = new Map<string, LifeboatError>();
    for (let round = 0; round < ROUNDS; round++) {
      const listed = (await this.storage.list('index/')).map((o) => o.name);
      let vanished = false;
      const fresh = listed.filter((name) => !this.packsOf.has(name));
      const decoded = await mapLimit(fresh, 8, async (name) => {
        try {
          return { name, file: await this.read(name) };
        } catch (err) {
          if (!isLifeboatError(err)) throw err;
          // Removed since the listing: a sweep replaced it, and the next listing shows by what.
          if (err.code === ErrorCode.NotFound) {
            vanished = true;
            problems.delete(name);
          } else problems.set(name, err);
          return undefined;
        }
      });
      for (const d of decoded) {
        if (!d) continue;
        problems.delete(d.name);
        this.packsOf.set(
          d.name,
          d.file.packs.map((p) => p.id),
        );
        for (const pack of d.file.packs) this.index.addPack(pack);
      }
      this.forgetRemoved(new Set(listed));
      if (!vanished) break;
    }
    return [...problems].map(([name, error]) => ({ name, error }));
  }

  /** Forget index files no longer listed, and set aside the packs only they named. */
  private forgetRemoved(listed: ReadonlySet<string>): void {
    const removed = [...this.packsOf.keys()].filter((name) => !listed.has(name));
    if (removed.length === 0) return;
    const orphans = new Set(removed.flatMap((name) => this.packsOf.get(name)!));
    for (const name of removed) this.packsOf.delete(name);
    for (const packs of this.packsOf.values()) for (const id of packs) orphans.delete(id);
    this.index.excludePacks(orphans);
  }
}
