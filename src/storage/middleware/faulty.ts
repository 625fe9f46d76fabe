/**
 * FaultyStorage: a Storage wrapper for tests that injects failures, including
 * the ones a real backend commits silently (short writes, flipped bits, short
 * listings) so that the repository's own verification can be shown to catch them.
 *
 *   const faulty = new FaultyStorage(new MemoryStorage(), (op, name) =>
 *     op === 'put' && name.startsWith('data/') ? { kind: 'truncate', bytes: 10 } : undefined);
 *
 * The plan is consulted once per call, before the inner storage is touched;
 * `undefined` means "behave normally". `calls` counts every call per operation
 * (including the faulted ones).
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { ObjectInfo, SpaceInfo, Storage } from '../contract.js';

export type StorageOp = 'put' | 'get' | 'getRange' | 'stat' | 'list' | 'remove' | 'space' | 'close';

export type Fault =
  /** Reject with LifeboatError(storage); `retryable` defaults to false. Any op. */
  | { kind: 'error'; retryable?: boolean; message?: string }
  /** put only: store just the first `bytes` bytes and RESOLVE (a lying backend). */
  | { kind: 'truncate'; bytes: number }
  /** get/getRange only: return the data with one byte flipped (no-op on empty data). */
  | { kind: 'corrupt-read' }
  /** list only: resolve with only the first `keep` entries (a broken backend). */
  | { kind: 'short-list'; keep: number }
  /** list only: resolve with the entries `keep` accepts, each repeated `times` times (a lying backend: dropped or duplicated keys). */
  | { kind: 'filter-list'; keep: (entry: ObjectInfo) => boolean; times?: number }
  /** Any op: wait `ms` milliseconds, then behave normally. */
  | { kind: 'delay'; ms: number }
  /** Any op: wait until `until` settles, then behave normally (a call held while the test acts). */
  | { kind: 'wait'; until: Promise<unknown> };

/** Decides the fault for one call; `name` is the object name, the prefix for list, '' for space/close. */
export type FaultPlan = (op: StorageOp, name: string) => Fault | undefined;

const OPS: readonly StorageOp[] = ['put', 'get', 'getRange', 'stat', 'list', 'remove', 'space', 'close'];

/** A plan that injects `fault` on the `nth` (1-based) call of `op` matching `filter`, and nothing else. */
export function faultOnNthCall(
  op: StorageOp,
  nth: number,
  fault: Fault,
  filter: (name: string) => boolean = () => true,
): FaultPlan {
  let seen = 0;
  return (o, name) => (o === op && filter(name) && ++seen === nth ? fault : undefined);
}

export class FaultyStorage implements Storage {
  /** Calls per operation since construction (or `resetCounters`). */
  readonly calls: Record<StorageOp, number> = Object.fromEntries(OPS.map((op) => [op, 0])) as Record<StorageOp, number>;

  /** Present when the inner storage has it (passed through, no faults). */
  readonly removeStaleTemporaries?: Storage['removeStaleTemporaries'];

  constructor(
    readonly inner: Storage,
    private plan: FaultPlan = () => undefined,
  ) {
    this.removeStaleTemporaries = inner.removeStaleTemporaries?.bind(inner);
  }

  get location(): string {
    return this.inner.location;
  }

  /** Replace the fault plan, e.g. to stop injecting faults mid-test. */
  setPlan(plan: FaultPlan): void {
    this.plan = plan;
  }

  resetCounters(): void {
    for (const op of OPS) this.calls[op] = 0;
  }

  /** Counts the call, applies delay/error faults, and returns any fault left for the op to apply. */
  private async begin(op: StorageOp, name: string, allowed: Fault['kind'][] = []): Promise<Fault | undefined> {
    this.calls[op]++;
    const fault = this.plan(op, name);
    if (!fault) return undefined;
    switch (fault.kind) {
      case 'delay':
        await new Promise((resolve) => setTimeout(resolve, fault.ms));
        return undefined;
      case 'wait':
        await fault.until.catch(() => undefined);
        return undefined;
      case 'error':
        throw new LifeboatError(ErrorCode.Storage, fault.message ?? `injected fault: ${op} ${name}`, {
          retryable: fault.retryable ?? false,
          context: { op, name, injected: true },
        });
      default:
        // A plan that asks for e.g. 'truncate' on get is a bug in the test: fail loudly.
        if (!allowed.includes(fault.kind))
          throw new Error(`FaultyStorage: fault '${fault.kind}' does not apply to ${op}`);
        return fault;
    }
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    const fault = await this.begin('put', name, ['truncate']);
    const stored = fault?.kind === 'truncate' ? data.subarray(0, Math.max(0, fault.bytes)) : data;
    return this.inner.put(name, stored);
  }

  async get(name: string): Promise<Buffer> {
    const fault = await this.begin('get', name, ['corrupt-read']);
    const data = await this.inner.get(name);
    return fault ? flipOneByte(data) : data;
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    const fault = await this.begin('getRange', name, ['corrupt-read']);
    const data = await this.inner.getRange(name, offset, length);
    return fault ? flipOneByte(data) : data;
  }

  async stat(name: string): Promise<ObjectInfo> {
    await this.begin('stat', name);
    return this.inner.stat(name);
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const fault = await this.begin('list', prefix, ['short-list', 'filter-list']);
    const entries = await this.inner.list(prefix);
    if (fault?.kind === 'filter-list')
      return entries.filter(fault.keep).flatMap((e) => Array.from({ length: fault.times ?? 1 }, () => ({ ...e })));
    return fault?.kind === 'short-list' ? entries.slice(0, Math.max(0, fault.keep)) : entries;
  }

  async remove(name: string): Promise<void> {
    await this.begin('remove', name);
    return this.inner.remove(name);
  }

  async space(): Promise<SpaceInfo> {
    await this.begin('space', '');
    return this.inner.space();
  }

  async close(): Promise<void> {
    await this.begin('close', '');
    return this.inner.close();
  }
}

/** Flips every bit of the middle byte, on a copy. */
function flipOneByte(data: Buffer): Buffer {
  if (data.length === 0) return data;
  const copy = Buffer.from(data);
  const i = data.length >> 1;
  copy[i] = (copy[i] ?? 0) ^ 0xff;
  return copy;
}
