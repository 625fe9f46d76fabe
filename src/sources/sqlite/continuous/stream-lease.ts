/**
 * One replicator per stream: a lease object `wal/<stream>/lease` (sealed
 * like every stream object) names its holder (host, pid, a random owner id)
 * and when it expires. A replicator takes it before it reads anything and
 * renews it while it runs; a second one finds it held and refuses, naming
 * the holder. A lease whose time ran out, or whose holder was a process of
 * this host that no longer exists (killed), is taken over. Object stores
 * have no atomic create, so the taker reads the lease back after a pause
 * and refuses if someone else's write won.
 * @module
 */

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { Repository } from '../../../repository/repository.js';
import { streamPrefix } from './stream-names.js';
import { getStreamObject, putStreamObject } from './stream-objects.js';

/**
 * A lease is renewed only when the replicator writes anyway (a shipment, a
 * full copy) and a third of this has passed: an idle source writes nothing.
 * A replicator idle for longer may lose its lease to a second one; it then
 * stops at its next shipment (`lock_lost`) without writing.
 */
export const LEASE_TTL_MS = 60_000;
/** How long a taker waits before reading its lease back (longer than one write to remote storage takes). */
const SETTLE_MS = 300;

export interface LeaseRecord {
  owner: string;
  host: string;
  pid: number;
  source: string;
  renewedMs: number;
  expiresMs: number;
}

export function leaseName(stream: string): string {
  return `${streamPrefix(stream)}lease`;
}

export class StreamLease {
  readonly owner = randomBytes(8).toString('hex');
  private renewedMs = 0;

  constructor(
    private readonly repo: Repository,
    private readonly stream: string,
    private readonly source: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** Take the lease or throw `locked` naming who holds it. */
  async acquire(): Promise<void> {
    this.refuseIfHeld(await this.read());
    await this.write();
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const back = await this.read();
    if (back?.owner !== this.owner) this.refuseIfHeld(back, true);
  }

  /** Before a write: renew when a third of the time to live has passed; stop if another replicator holds it now. */
  async renew(): Promise<void> {
    if (this.now() - this.renewedMs < LEASE_TTL_MS / 3) return;
    const current = await this.read();
    if (current && current.owner !== this.owner && current.expiresMs > this.now())
      throw new LifeboatError(
        ErrorCode.LockLost,
        `the stream of source "${this.source}" was taken over by pid ${current.pid} on ${current.host}`,
        { hint: 'two replicators ran for one source; this one stops so that only one ships' },
      );
    await this.write();
  }

  /** Give the lease up (best effort: it expires by itself). */
  async release(): Promise<void> {
    try {
      const current = await this.read();
      if (current?.owner === this.owner) await this.repo.storage.remove(leaseName(this.stream));
    } catch {
      // The lease runs out by itself.
    }
  }

  private async read(): Promise<LeaseRecord | undefined> {
    let raw: Buffer;
    try {
      raw = await getStreamObject(this.repo, leaseName(this.stream));
    } catch (err) {
      if (err instanceof LifeboatError && err.code === ErrorCode.NotFound) return undefined;
      throw err;
    }
    return JSON.parse(raw.toString('utf8')) as LeaseRecord;
  }

  private async write(): Promise<void> {
    const now = this.now();
    const record: LeaseRecord = {
      owner: this.owner,
      host: os.hostname(),
      pid: process.pid,
      source: this.source,
      renewedMs: now,
      expiresMs: now + LEASE_TTL_MS,
    };
    await putStreamObject(this.repo, leaseName(this.stream), Buffer.from(JSON.stringify(record)));
    this.renewedMs = now;
  }

  private refuseIfHeld(held: LeaseRecord | undefined, lostRace = false): void {
    if (!held || held.owner === this.owner) return;
    const alive = held.host !== os.hostname() || processExists(held.pid);
    if (!lostRace && (!alive || held.expiresMs <= this.now())) return;
    throw new LifeboatError(
      ErrorCode.Locked,
      `the stream of source "${this.source}" is already being replicated by pid ${held.pid} on ${held.host} (lease renewed ${Math.max(0, Math.round((this.now() - held.renewedMs) / 1000))}s ago)`,
      {
        hint: `run one replicator per source (\`lifeboat serve\` already replicates every source with \`continuous\`); if that process is gone, its lease expires ${LEASE_TTL_MS / 1000}s after its last renewal`,
      },
    );
  }
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
