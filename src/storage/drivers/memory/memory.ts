/**
 * In-memory Storage for unit tests. Objects are copied on the way in and out so
 * callers can never mutate stored data by accident (which would hide bugs that
 * a real backend exposes). Same name rules and error codes as the real drivers.
 *
 * @module
 */

import { ErrorCode, LifeboatError } from '../../../errors/index.js';
import type { ObjectInfo, SpaceInfo, Storage, StorageFactory } from '../../contract.js';
import { assertValidObjectName, assertValidPrefix, assertValidRange } from '../../names.js';

/** Process-wide maps behind `memory:` URLs, keyed by host + path. */
const shared = new Map<string, Map<string, Buffer>>();

/** A repository held in memory, for tests and examples: nothing survives the process. */
export class MemoryStorage implements Storage {
  readonly location: string;
  private closed = false;

  /** Without `objects`, the instance gets a private, empty map. */
  constructor(
    private readonly objects: Map<string, Buffer> = new Map(),
    location = 'memory:',
  ) {
    this.location = location;
  }

  private check(name: string): void {
    if (this.closed) throw new LifeboatError(ErrorCode.Storage, `storage ${this.location} is closed`);
    assertValidObjectName(name);
  }

  private lookup(name: string): Buffer {
    this.check(name);
    const data = this.objects.get(name);
    if (!data) throw new LifeboatError(ErrorCode.NotFound, `object ${name} not found`, { context: { name } });
    return data;
  }

  async put(name: string, data: Uint8Array): Promise<void> {
    this.check(name);
    this.objects.set(name, Buffer.from(data)); // Buffer.from(view) copies
  }

  async get(name: string): Promise<Buffer> {
    return Buffer.from(this.lookup(name));
  }

  async getRange(name: string, offset: number, length: number): Promise<Buffer> {
    assertValidRange(name, offset, length);
    const data = this.lookup(name);
    if (offset + length > data.length) {
      throw new LifeboatError(
        ErrorCode.Storage,
        `range ${offset}+${length} runs past the end of ${name} (${data.length} bytes)`,
        {
          context: { name, offset, length, size: data.length },
        },
      );
    }
    return Buffer.from(data.subarray(offset, offset + length));
  }

  async stat(name: string): Promise<ObjectInfo> {
    return { name, size: this.lookup(name).length };
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    if (this.closed) throw new LifeboatError(ErrorCode.Storage, `storage ${this.location} is closed`);
    assertValidPrefix(prefix);
    const out: ObjectInfo[] = [];
    for (const [name, data] of this.objects) {
      if (name.startsWith(prefix)) out.push({ name, size: data.length });
    }
    return out;
  }

  async remove(name: string): Promise<void> {
    this.check(name);
    this.objects.delete(name);
  }

  async space(): Promise<SpaceInfo> {
    let usedBytes = 0;
    for (const data of this.objects.values()) usedBytes += data.length;
    return { usedBytes };
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}

/**
 * Factory for `memory:` URLs (`memory://name` or `memory:name`). Opens of the same
 * host/path share one map for the life of the process. A missing location is
 * always created (the `create` option is ignored): tests open freely.
 */
export const createMemoryStorage: StorageFactory = async (url: URL) => {
  if (url.protocol !== 'memory:') {
    throw new LifeboatError(ErrorCode.Usage, `the memory driver cannot open ${url.protocol} URLs`);
  }
  const key = `${url.host}${url.pathname}`;
  let objects = shared.get(key);
  if (!objects) {
    objects = new Map();
    shared.set(key, objects);
  }
  return new MemoryStorage(objects, `memory://${key}`);
};

/** Forget the shared objects of one `memory:` key (host + path), or of all. For test isolation. */
export function resetMemoryStorage(key?: string): void {
  if (key === undefined) shared.clear();
  else shared.delete(key);
}
