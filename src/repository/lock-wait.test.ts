import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../errors/index.js';
import { openStorage } from '../storage/registry.js';
import { expectCode } from '../storage/testing/conformance.js';
import { Repository } from './repository.js';

describe('waiting for a conflicting lock', () => {
  it('fails at once by default, and with lockWaitMs takes the lock once the holder releases it', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-lockwait-'));
    const holder = await Repository.init(
      await openStorage(path.join(dir, 'repo'), { create: true }),
      Buffer.from('pw'),
    );
    const credentials = { kind: 'password' as const, password: Buffer.from('pw'), source: 'test' };
    const impatient = await Repository.open(await openStorage(path.join(dir, 'repo')), credentials);
    const patient = await Repository.open(await openStorage(path.join(dir, 'repo')), credentials, {
      lockWaitMs: 20_000,
    });
    const exclusive = await holder.lock(true, 'prune sweep');
    await expectCode(impatient.lock(false, 'backup'), ErrorCode.Locked);
    const started = Date.now();
    setTimeout(() => void exclusive.release(), 1500);
    const shared = await patient.lock(false, 'backup');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    await shared.release();
    const quick = await Repository.open(await openStorage(path.join(dir, 'repo')), credentials, { lockWaitMs: 1000 });
    const again = await holder.lock(true, 'prune sweep');
    await expectCode(quick.lock(false, 'backup'), ErrorCode.Locked); // gives up after its wait
    await again.release();
    for (const r of [holder, impatient, patient, quick]) await r.close();
    await rm(dir, { recursive: true, force: true });
  });
});
