import { readFileSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPodmanService, type PodmanService } from '../../../test/helpers/servers/podman.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { verify } from '../../verify/verify.js';
import { backupSource, restoreSource } from '../run-source.js';
import { describeSourceConformance } from '../testing/source-suite.js';
import { currentLedger, useLedger } from '../../leftovers/ledger.js';
import { sourceRemovers } from '../leftover-removers.js';
import { engineApi } from './engine-api.js';
import { quiesce } from './quiesce.js';
import type { VolumeRecord } from './volume-view.js';
import { listContainers } from './volumes.js';

// Generous: containers are created, stopped and started by podman on a machine shared with other tests.
const TIMEOUT = 180_000;

/**
 * Appends the next number to /data/seq and then replaces /data/counter with it, forever,
 * continuing from the counter after a restart; exits at once on SIGTERM (after a whole step).
 */
const WRITER = [
  "trap 'exit 0' TERM",
  'i=$(cat /data/counter 2>/dev/null || echo 0)',
  'while true; do i=$((i+1)); echo $i >> /data/seq; echo $i > /data/counter.tmp; mv /data/counter.tmp /data/counter; sleep 0.01; done',
].join('; ');

const IDLE = "trap 'exit 0' TERM; while true; do sleep 1; done";

async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  // Generous: a container's first writes on a loaded machine.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function counterIn(dir: string): number {
  return Number(readFileSync(path.join(dir, 'counter'), 'utf8').trim());
}

/** The sequence file holds 1..N without a gap or a torn line, and the counter says N. */
async function expectWholeSequence(dir: string): Promise<number> {
  const lines = (await readFile(path.join(dir, 'seq'), 'utf8')).split('\n');
  expect(lines.pop(), 'the sequence ends with a whole line').toBe('');
  lines.forEach((l, i) => expect(l, `line ${i + 1}`).toBe(String(i + 1)));
  expect(counterIn(dir)).toBe(lines.length);
  return lines.length;
}

describeSourceConformance(
  'docker',
  async () => {
    const podman = await startPodmanService();
    const volume = `${podman.prefix}data`;
    await podman.createVolume(volume, { app: 'suite' });
    await podman.container(`${podman.prefix}writer`, { volumes: { [volume]: '/data' }, script: WRITER });
    let n = 0;
    return {
      config: { type: 'docker', volumes: [volume], socket: podman.socket },
      secrets: [],
      restoreTarget: async () => ({ toVolume: `${podman.prefix}restored-${++n}` }),
      unreachable: { type: 'docker', volumes: [volume], socket: path.join(os.tmpdir(), 'no-such-dir', 'docker.sock') },
      recordedFields: ['volumes', 'containers', 'files', 'bytes'],
      cleanup: () => podman.stop(),
    };
  },
  { timeoutMs: TIMEOUT },
);

describe('docker source against a real Docker Engine API (podman)', () => {
  let podman: PodmanService;
  let work: string;
  let repo: Repository;
  const name = (s: string) => `${podman.prefix}${s}`;
  const mountpoints = new Map<string, string>();
  const volume = async (s: string, labels?: Record<string, string>) => {
    const v = await podman.createVolume(name(s), labels);
    mountpoints.set(name(s), v.Mountpoint);
    return v.Mountpoint;
  };
  const config = (extra: Partial<SourceConfigOf<'docker'>>): SourceConfigOf<'docker'> => ({
    type: 'docker',
    socket: podman.socket,
    stop_timeout: '20s',
    ...extra,
  });

  beforeAll(async () => {
    podman = await startPodmanService();
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-docker-'));
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
    useLedger(path.join(work, 'ledger'));
  }, TIMEOUT);
  afterAll(async () => {
    await repo?.close();
    await podman?.stop();
    await rm(work, { recursive: true, force: true });
  }, TIMEOUT);

  it(
    'stops the writing container for the copy, starts it again, and the restored volume holds what it had written',
    async () => {
      const dir = await volume('app', { 'com.example.app': 'shop' });
      await podman.container(name('app-writer'), { volumes: { [name('app')]: '/data' }, script: WRITER });
      // A container on another volume is not touched.
      await volume('other');
      await podman.container(name('other-writer'), { volumes: { [name('other')]: '/data' }, script: WRITER });
      await until(async () => counterIn(dir) > 20, 'the writer to start');
      const seen: Record<string, number> = {};
      const logs: string[] = [];
      const { snapshot, record } = await backupSource(repo, 'app', config({ volumes: [name('app')] }), {
        log: (l) => {
          logs.push(l);
          // Read synchronously at the moment the driver says it held or released the container.
          if (l.includes('stopped for the backup')) seen.stopped = counterIn(dir);
          if (l.startsWith('starting container')) seen.started = counterIn(dir);
        },
      });
      expect(logs).toContain(`container ${name('app-writer')} stopped for the backup`);
      expect(seen.started, 'nothing was written while the container was stopped').toBe(seen.stopped);
      expect(record.containers).toEqual([{ name: name('app-writer'), state: 'running', action: 'stopped' }]);
      const [rec] = record.volumes as VolumeRecord[];
      expect(rec).toMatchObject({ name: name('app'), driver: 'local', labels: { 'com.example.app': 'shop' } });
      expect(await podman.state(name('app-writer'))).toBe('running');
      expect(await podman.state(name('other-writer'))).toBe('running');
      expect(snapshot.paths).toEqual([`/volumes/${name('app')}`]);

      const restored = await restoreSource(repo, snapshot, { toVolume: name('app-copy'), config: config({}) });
      expect(restored.checks.map((c) => [c.field, c.ok])).toEqual([
        ['files', true],
        ['bytes', true],
      ]);
      const copy = String(restored.restored.details.dir);
      const counted = await expectWholeSequence(copy);
      expect(counted, 'the copy holds what was written when the container was stopped').toBe(seen.stopped);
      // The container writes on after the backup, from where it was stopped.
      await until(async () => counterIn(dir) > counted + 5, 'the writer to go on');
      const live = (await readFile(path.join(dir, 'seq'), 'utf8')).split('\n');
      expect(live.slice(0, counted).join('\n') + '\n').toBe(await readFile(path.join(copy, 'seq'), 'utf8'));
      const created = await podman.api.get<{ Labels: Record<string, string>; Driver: string }>(
        `/volumes/${name('app-copy')}`,
      );
      expect(created.Labels).toEqual({ 'com.example.app': 'shop' });
      expect(created.Driver).toBe('local');
    },
    TIMEOUT,
  );

  it(
    'records a held container in the ledger until it is given back; the sweep gives back one a killed backup left',
    async () => {
      await volume('ledgered');
      await podman.container(name('ledgered-app'), { volumes: { [name('ledgered')]: '/data' }, script: IDLE });
      const held = async () =>
        (await currentLedger().list()).records.filter(
          (r) => r.resource.kind === 'held-container' && r.resource.name === name('ledgered-app'),
        );
      await backupSource(repo, 'ledgered', config({ volumes: [name('ledgered')] }));
      expect(await held(), 'given back: no longer recorded').toEqual([]);

      // As if the backup's process had been killed while holding it: stopped, and still recorded.
      const [container] = (await listContainers(podman.api)).filter((c) =>
        c.Names.includes(`/${name('ledgered-app')}`),
      );
      await quiesce(engineApi(podman.socket), [container!], 'stop', 20, () => {});
      expect(await podman.state(name('ledgered-app'))).toBe('exited');
      const records = await held();
      expect(records.length, 'recorded while held').toBe(1);
      const record = records[0];
      const lines: string[] = [];
      const ctx = { sources: {}, dryRun: false, now: Date.now(), log: (l: string) => lines.push(l) };
      expect(await sourceRemovers['held-container'](record!.resource as never, null, ctx)).toEqual({
        status: 'removed',
      });
      expect(await podman.state(name('ledgered-app'))).toBe('running');
      expect(lines).toEqual([`container ${name('ledgered-app')}: started again`]);
      // Given back already: the sweep only drops the record.
      expect(await sourceRemovers['held-container'](record!.resource as never, null, ctx)).toEqual({ status: 'gone' });
      await currentLedger().forget(record!.id);
    },
    TIMEOUT,
  );

  it(
    'pauses instead of stopping with stop: pause',
    async () => {
      const dir = await volume('paused');
      await podman.container(name('paused-writer'), { volumes: { [name('paused')]: '/data' }, script: WRITER });
      await until(async () => counterIn(dir) > 20, 'the writer to start');
      const seen: Record<string, number | string> = {};
      const { snapshot, record } = await backupSource(
        repo,
        'paused',
        config({ volumes: [name('paused')], stop: 'pause' }),
        {
          log: (l) => {
            if (l.includes('paused for the backup')) seen.paused = counterIn(dir);
            if (l.startsWith('unpausing container')) seen.unpaused = counterIn(dir);
          },
        },
      );
      expect(seen.unpaused, 'nothing was written while the container was paused').toBe(seen.paused);
      expect(record.containers).toEqual([{ name: name('paused-writer'), state: 'running', action: 'paused' }]);
      expect(await podman.state(name('paused-writer'))).toBe('running');
      const restored = await restoreSource(repo, snapshot, { toVolume: name('paused-copy'), config: config({}) });
      expect(await expectWholeSequence(String(restored.restored.details.dir))).toBe(seen.paused);
    },
    TIMEOUT,
  );

  it(
    'leaves the containers running with stop: none',
    async () => {
      const dir = await volume('live');
      await podman.container(name('live-writer'), { volumes: { [name('live')]: '/data' }, script: WRITER });
      await until(async () => counterIn(dir) > 5, 'the writer to start');
      const logs: string[] = [];
      const { record } = await backupSource(repo, 'live', config({ volumes: [name('live')], stop: 'none' }), {
        log: (l) => logs.push(l),
      });
      expect(record.containers).toEqual([{ name: name('live-writer'), state: 'running', action: 'left as it was' }]);
      expect(logs.filter((l) => l.includes('container'))).toEqual([]);
      expect(await podman.state(name('live-writer'))).toBe('running');
    },
    TIMEOUT,
  );

  it(
    'leaves a container that was already stopped stopped',
    async () => {
      const dir = await volume('idle');
      await writeFile(path.join(dir, 'config.txt'), 'kept\n');
      await podman.container(name('idle-stopped'), {
        volumes: { [name('idle')]: '/data' },
        script: IDLE,
        start: false,
      });
      const logs: string[] = [];
      const { record } = await backupSource(repo, 'idle', config({ containers: [name('idle-stopped')] }), {
        log: (l) => logs.push(l),
      });
      expect(record.containers).toEqual([{ name: name('idle-stopped'), state: 'created', action: 'left as it was' }]);
      expect((record.volumes as VolumeRecord[]).map((v) => v.name)).toEqual([name('idle')]);
      expect(await podman.state(name('idle-stopped'))).not.toBe('running');
      expect(logs.some((l) => l.startsWith('starting container'))).toBe(false);
    },
    TIMEOUT,
  );

  it(
    'fails the backup when a container does not start again, and keeps the snapshot',
    async () => {
      const dir = await volume('fragile');
      const bind = path.join(work, 'bind-source');
      await mkdir(bind);
      await podman.container(name('fragile'), {
        volumes: { [name('fragile')]: '/data' },
        binds: { [bind]: '/bind' },
        script: WRITER,
      });
      await until(async () => counterIn(dir) > 5, 'the writer to start');
      const before = (await repo.listSnapshots()).snapshots.length;
      // The fault: the directory the container needs disappears while it is stopped, so it cannot start.
      const err = await backupSource(repo, 'fragile', config({ volumes: [name('fragile')] }), {
        log: (l) => {
          if (l.includes('stopped for the backup')) rmSync(bind, { recursive: true });
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      await expectCode(Promise.reject(err), ErrorCode.SourceFailed);
      expect((err as Error).message).toMatch(/snapshot [0-9a-f]{8} was saved and is kept, but 1 container/);
      expect((err as Error).message).toContain(name('fragile'));
      const after = (await repo.listSnapshots()).snapshots;
      expect(after.length).toBe(before + 1);
      expect(after.some((s) => s.source === 'fragile')).toBe(true);
      expect(await podman.state(name('fragile'))).not.toBe('running');
    },
    TIMEOUT,
  );

  it(
    'starts the container again when the backup is interrupted',
    async () => {
      const dir = await volume('interrupted');
      await podman.container(name('interrupted-writer'), {
        volumes: { [name('interrupted')]: '/data' },
        script: WRITER,
      });
      await until(async () => counterIn(dir) > 5, 'the writer to start');
      const before = (await repo.listSnapshots()).snapshots.length;
      const ctl = new AbortController();
      const err = await backupSource(repo, 'interrupted', config({ volumes: [name('interrupted')] }), {
        signal: ctl.signal,
        log: (l) => {
          if (l.includes('stopped for the backup')) ctl.abort(new Error('interrupted by the test'));
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the backup must fail').toBeInstanceOf(Error);
      expect((await repo.listSnapshots()).snapshots.length).toBe(before);
      expect(await podman.state(name('interrupted-writer'))).toBe('running');
      const stopped = counterIn(dir);
      await until(async () => counterIn(dir) > stopped, 'the writer to go on');
    },
    TIMEOUT,
  );

  it(
    'removes the volume a failed restore created',
    async () => {
      await writeFile(path.join(await volume('to-fail'), 'a.txt'), 'a\n');
      const { snapshot } = await backupSource(repo, 'to-fail', config({ volumes: [name('to-fail')] }));
      const ctl = new AbortController();
      const err = await restoreSource(repo, snapshot, {
        toVolume: name('to-fail-copy'),
        config: config({}),
        signal: ctl.signal,
        log: (l) => {
          if (l.startsWith('created volume')) ctl.abort(new Error('interrupted by the test'));
        },
      }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, 'the restore must fail').toBeInstanceOf(Error);
      await expect(podman.api.get(`/volumes/${name('to-fail-copy')}`)).rejects.toMatchObject({ status: 404 });
    },
    TIMEOUT,
  );

  it(
    'restores into an existing volume only with --force, replacing its contents',
    async () => {
      const dir = await volume('orig');
      await writeFile(path.join(dir, 'a.txt'), 'from the backup\n');
      const { snapshot } = await backupSource(repo, 'orig', config({ volumes: [name('orig')] }));
      const existing = await volume('existing');
      await writeFile(path.join(existing, 'stale.txt'), 'was there before\n');
      await expectCode(
        restoreSource(repo, snapshot, { toVolume: name('existing'), config: config({}) }),
        ErrorCode.Refused,
      );
      expect(await readFile(path.join(existing, 'stale.txt'), 'utf8')).toBe('was there before\n');
      const forced = await restoreSource(repo, snapshot, {
        toVolume: name('existing'),
        force: true,
        config: config({}),
      });
      expect(forced.checks.every((c) => c.ok)).toBe(true);
      expect(await readFile(path.join(existing, 'a.txt'), 'utf8')).toBe('from the backup\n');
      await expect(readFile(path.join(existing, 'stale.txt'))).rejects.toThrow();
      // Never under a running container, even with --force.
      await podman.container(name('existing-user'), { volumes: { [name('existing')]: '/data' }, script: IDLE });
      await expectCode(
        restoreSource(repo, snapshot, { toVolume: name('existing'), force: true, config: config({}) }),
        ErrorCode.Refused,
      );
    },
    TIMEOUT,
  );

  it(
    'matches volumes by glob, and restores each one named with --volume',
    async () => {
      for (const s of ['glob-a', 'glob-b']) await writeFile(path.join(await volume(s), `${s}.txt`), `${s}\n`);
      await volume('unrelated');
      const { snapshot, record } = await backupSource(repo, 'globbed', config({ volumes: [name('glob-*')] }));
      expect((record.volumes as VolumeRecord[]).map((v) => v.name)).toEqual([name('glob-a'), name('glob-b')]);
      await expectCode(
        restoreSource(repo, snapshot, { toVolume: name('glob-x'), config: config({}) }),
        ErrorCode.Usage,
      );
      const b = await restoreSource(repo, snapshot, {
        volume: name('glob-b'),
        toVolume: name('glob-b-copy'),
        config: config({}),
      });
      expect(await readFile(path.join(String(b.restored.details.dir), 'glob-b.txt'), 'utf8')).toBe('glob-b\n');
      expect(b.checks.every((c) => c.ok)).toBe(true);
      // `lifeboat verify` restores and measures every volume of the snapshot.
      const verified = await verify(repo, snapshot, { config: config({ volumes: [name('glob-*')] }) });
      expect(verified.checks.filter((c) => c.ok).map((c) => c.name)).toEqual(
        [name('glob-a'), name('glob-b')].flatMap((v) => [`${v}: restore`, `${v}: files`, `${v}: bytes`]),
      );
      expect(verified.ok).toBe(true);
    },
    TIMEOUT,
  );

  it(
    'reports a missing volume as an input error, and fails when no volume is found',
    async () => {
      await writeFile(path.join(await volume('present'), 'x.txt'), 'x\n');
      const partial = await backupSource(repo, 'some', config({ volumes: [name('present'), name('absent')] }));
      expect(partial.errors).toEqual([{ path: `volume ${name('absent')}`, message: 'no such volume', given: true }]);
      const before = (await repo.listSnapshots()).snapshots.length;
      await expectCode(
        backupSource(repo, 'none', config({ volumes: [name('absent'), name('nothing-*')] })),
        ErrorCode.SourceFailed,
      );
      expect((await repo.listSnapshots()).snapshots.length).toBe(before);
    },
    TIMEOUT,
  );
});
