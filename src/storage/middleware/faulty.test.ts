import { describe, expect, it } from 'vitest';
import { LifeboatError } from '../../errors/index.js';
import { MemoryStorage } from '../drivers/memory/index.js';
import { describeStorageConformance, expectCode } from '../testing/conformance.js';
import { FaultyStorage, faultOnNthCall, type Fault, type StorageOp } from './faulty.js';

// With no faults planned, the wrapper must be a conforming Storage itself.
describeStorageConformance('faulty (no faults)', async () => {
  const storage = new FaultyStorage(new MemoryStorage());
  return { storage, cleanup: () => storage.close() };
});

const data = Buffer.from('0123456789');

async function setup(plan: (op: StorageOp, name: string) => Fault | undefined) {
  const inner = new MemoryStorage();
  await inner.put('data/ab/x', data);
  await inner.put('data/cd/y', data);
  await inner.put('index/z', data);
  return { inner, faulty: new FaultyStorage(inner, plan) };
}

describe('FaultyStorage', () => {
  it('injects errors with the requested retryability', async () => {
    const { faulty } = await setup((op) =>
      op === 'get' ? { kind: 'error', retryable: true } : op === 'stat' ? { kind: 'error' } : undefined,
    );
    const err = await expectCode(faulty.get('data/ab/x'), 'storage');
    expect(err.retryable).toBe(true);
    expect((await expectCode(faulty.stat('data/ab/x'), 'storage')).retryable).toBe(false);
    expect((await faulty.getRange('data/ab/x', 0, 2)).toString()).toBe('01');
  });

  it('does not touch the inner storage when an error is injected', async () => {
    const { inner, faulty } = await setup((op) => (op === 'put' || op === 'remove' ? { kind: 'error' } : undefined));
    await expectCode(faulty.put('config', data), 'storage');
    await expectCode(faulty.remove('index/z'), 'storage');
    await expectCode(inner.get('config'), 'not_found');
    expect((await inner.get('index/z')).equals(data)).toBe(true);
  });

  it('truncate stores a prefix and resolves, like a lying backend', async () => {
    const { inner, faulty } = await setup((op, name) =>
      op === 'put' && name === 'config' ? { kind: 'truncate', bytes: 3 } : undefined,
    );
    await expect(faulty.put('config', data)).resolves.toBeUndefined();
    expect((await inner.get('config')).toString()).toBe('012');
    await faulty.put('index/w', data);
    expect((await inner.get('index/w')).equals(data)).toBe(true);
  });

  it('corrupt-read flips exactly one byte without changing the stored object', async () => {
    const { inner, faulty } = await setup((op) =>
      op === 'get' || op === 'getRange' ? { kind: 'corrupt-read' } : undefined,
    );
    const got = await faulty.get('data/ab/x');
    expect(got.length).toBe(data.length);
    expect([...got].filter((b, i) => b !== data[i]).length).toBe(1);
    const range = await faulty.getRange('data/ab/x', 2, 4);
    expect([...range].filter((b, i) => b !== data[i + 2]).length).toBe(1);
    expect((await inner.get('data/ab/x')).equals(data)).toBe(true);
    expect((await faulty.getRange('data/ab/x', 0, 0)).length).toBe(0);
  });

  it('short-list resolves with only the first entries', async () => {
    const { faulty } = await setup((op) => (op === 'list' ? { kind: 'short-list', keep: 1 } : undefined));
    expect((await faulty.list('data/')).length).toBe(1);
    expect((await faulty.list('')).length).toBe(1);
  });

  it('delay waits and then behaves normally', async () => {
    const { faulty } = await setup((op) => (op === 'stat' ? { kind: 'delay', ms: 30 } : undefined));
    const start = Date.now();
    expect(await faulty.stat('index/z')).toEqual({ name: 'index/z', size: 10 });
    expect(Date.now() - start).toBeGreaterThanOrEqual(25);
  });

  it('wait holds the call until the promise settles, then behaves normally', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { inner, faulty } = await setup((op) => (op === 'get' ? { kind: 'wait', until: gate } : undefined));
    let got: Buffer | undefined;
    const pending = faulty.get('index/z').then((b) => (got = b));
    await inner.put('index/z', Buffer.from('changed'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(got).toBeUndefined();
    open();
    await pending;
    expect(got?.toString()).toBe('changed');
  });

  it('rejects (not as a storage fault) when a fault does not apply to the op', async () => {
    const { faulty } = await setup(() => ({ kind: 'truncate', bytes: 1 }));
    const err = await faulty.get('index/z').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(LifeboatError);
  });

  it('counts calls per operation, faulted ones included', async () => {
    const { faulty } = await setup((op) => (op === 'remove' ? { kind: 'error' } : undefined));
    await faulty.get('index/z');
    await faulty.get('index/z');
    await faulty.list('');
    await faulty.remove('index/z').catch(() => undefined);
    expect(faulty.calls).toMatchObject({ get: 2, list: 1, remove: 1, put: 0 });
    faulty.resetCounters();
    expect(faulty.calls.get).toBe(0);
  });

  it('setPlan switches faults on and off; location is the inner one', async () => {
    const { inner, faulty } = await setup(() => ({ kind: 'error' }));
    await expectCode(faulty.get('index/z'), 'storage');
    faulty.setPlan(() => undefined);
    expect((await faulty.get('index/z')).equals(data)).toBe(true);
    expect(faulty.location).toBe(inner.location);
  });

  it('faultOnNthCall injects only on the nth matching call', async () => {
    const { faulty } = await setup(faultOnNthCall('get', 2, { kind: 'error' }, (name) => name.startsWith('data/')));
    await faulty.get('index/z');
    await faulty.get('data/ab/x');
    await expectCode(faulty.get('data/cd/y'), 'storage');
    await faulty.get('data/cd/y');
  });
});
