/**
 * Docker and Podman volumes (docs/sources/docker.md): the volumes are found
 * through the Docker Engine API on its unix socket, the containers that use
 * them are stopped or paused for the copy and put back afterwards, and each
 * volume's files are stored under `/volumes/NAME` with its driver, options
 * and labels recorded, so a restore can create the volume again as it was.
 *
 * @module
 */

import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import type { InputError } from '../../archiver/walker.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { makeDirectories } from '../../util/make-dirs.js';
import { parseDuration } from '../../config/duration.js';
import type { Restored, RestoreContext, SourceDriver } from '../contract.js';
import { countFiles } from './count-files.js';
import { DEFAULT_DOCKER_SOCKET, EngineApiError, engineApi, type EngineApi } from './engine-api.js';
import { quiesce } from './quiesce.js';
import { emptyDirectory, restoreVolumeFiles } from './restore-volume.js';
import { volumePath, type VolumeRecord } from './volume-view.js';
import {
  containerName,
  containersUsing,
  listContainers,
  listVolumes,
  selectVolumes,
  type EngineVolume,
} from './volumes.js';

/** How long a container is given to stop before the engine kills it, unless `stop_timeout` says otherwise. */
const DEFAULT_STOP_TIMEOUT = '30s';

export const dockerSource: SourceDriver<'docker'> = {
  type: 'docker',
  verifiedFields: ['files', 'bytes'],
  // One directory per volume: a verification restores each volume of the snapshot in turn.
  scratchTarget: async (ctx) => ({
    target: path.join(ctx.tempDir, 'restored', (ctx.snapshot.metadata.record as unknown as VolumeRecord).name),
  }),

  async capture(config, ctx) {
    const api = engineApi(config.socket ?? DEFAULT_DOCKER_SOCKET, ctx.signal);
    const containers = await listContainers(api);
    const selection = selectVolumes(await listVolumes(api), containers, config);
    const inputErrors: InputError[] = selection.unmatched.map((u) => ({
      path: u.input,
      message: u.message,
      given: true as const,
    }));
    const volumes: EngineVolume[] = [];
    for (const v of selection.volumes) {
      const problem = await mountpointProblem(v);
      if (problem) inputErrors.push({ path: `volume ${v.Name}`, message: problem, given: true });
      else volumes.push(v);
    }
    for (const e of inputErrors) ctx.log(`${e.path}: ${e.message}`);
    if (volumes.length === 0)
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `source "${ctx.sourceName}": no volume to back up, no snapshot saved: ${inputErrors.map((e) => `${e.path}: ${e.message}`).join('; ')}`,
        { hint: 'check `volumes:` and `containers:` in lifeboat.yaml against `docker volume ls`' },
      );
    const mode = config.stop ?? 'stop';
    const users = containersUsing(
      containers,
      volumes.map((v) => v.Name),
    );
    // Never tied to the backup's signal: containers are put back also when the backup is interrupted.
    const held = await quiesce(
      engineApi(api.socket),
      users,
      mode,
      parseDuration(config.stop_timeout ?? DEFAULT_STOP_TIMEOUT),
      ctx.log,
    );
    return {
      mounts: volumes.map((v) => ({ from: v.Mountpoint, at: volumePath(v.Name) })),
      inputErrors,
      // Counted while the containers are still held, right after the copy.
      record: async () => {
        const recorded: VolumeRecord[] = [];
        for (const v of volumes)
          recorded.push({
            name: v.Name,
            driver: v.Driver,
            labels: v.Labels ?? {},
            options: v.Options ?? {},
            ...(await countFiles(v.Mountpoint)),
          });
        return {
          volumes: recorded,
          containers: held.containers,
          stop: mode,
          files: recorded.reduce((n, v) => n + v.files, 0),
          bytes: recorded.reduce((n, v) => n + v.bytes, 0),
        };
      },
      release: () => held.resume(),
    };
  },

  async restore(ctx: RestoreContext<'docker'>): Promise<Restored> {
    const volume = ctx.snapshot.metadata.record as unknown as VolumeRecord;
    if (ctx.toVolume !== undefined) return restoreToVolume(ctx, volume);
    if (!ctx.target)
      throw new LifeboatError(ErrorCode.Usage, 'restoring a docker volume needs --to-volume NAME', {
        hint: 'or --target DIR to get its files in a directory',
      });
    const dir = path.resolve(ctx.target);
    await makeDirectories(dir, 0o700);
    await refuseNonEmpty(dir, `${dir} is not empty`, ctx.force);
    if (ctx.force) await emptyDirectory(dir);
    await restoreVolumeFiles(ctx.repo, ctx.snapshot, volume.name, dir, ctx.signal);
    return { location: dir, details: { dir } };
  },

  async inspect(restored) {
    return countFiles(String(restored.details.dir));
  },
};

async function restoreToVolume(ctx: RestoreContext<'docker'>, recorded: VolumeRecord): Promise<Restored> {
  const name = ctx.toVolume!;
  const api = engineApi(ctx.config?.socket ?? DEFAULT_DOCKER_SOCKET, ctx.signal);
  let target = await existingVolume(api, name);
  const created = !target;
  if (target) {
    if (!ctx.force)
      throw new LifeboatError(
        ErrorCode.Refused,
        `volume ${name} exists; a restore replaces an existing volume's contents only when told to`,
        { hint: 'pass --force to replace its contents, or restore into a new volume with --to-volume NEW' },
      );
    const running = containersUsing(await listContainers(api), [name]).filter(
      (c) => c.State !== 'exited' && c.State !== 'created',
    );
    if (running.length)
      throw new LifeboatError(
        ErrorCode.Refused,
        `volume ${name} is in use by ${running.map((c) => `${containerName(c)} (${c.State})`).join(', ')}`,
        { hint: 'stop those containers first: a restore never changes a volume under a running container' },
      );
    await emptyDirectory(target.Mountpoint);
  } else {
    target = await api.post<EngineVolume>('/volumes/create', {
      Name: name,
      Driver: recorded.driver,
      DriverOpts: recorded.options,
      Labels: recorded.labels,
    });
    ctx.log(`created volume ${name} (driver ${recorded.driver})`);
  }
  try {
    const problem = await mountpointProblem(target);
    if (problem)
      throw new LifeboatError(ErrorCode.Failure, `volume ${name}: ${problem}`, {
        hint: 'Lifeboat restores into volumes whose mountpoint is a directory on this host',
      });
    await restoreVolumeFiles(ctx.repo, ctx.snapshot, recorded.name, target.Mountpoint, ctx.signal);
  } catch (err) {
    // A volume this restore created is not left behind half-filled; an existing one stays (emptied).
    if (created)
      await engineApi(api.socket)
        .delete(`/volumes/${encodeURIComponent(name)}`)
        .then(
          () => ctx.log(`removed volume ${name}, which this failed restore had created`),
          (removeErr: Error) =>
            ctx.log(`volume ${name} could not be removed after the failed restore: ${removeErr.message}`),
        );
    throw err;
  }
  return {
    location: `volume ${name}`,
    details: { dir: target.Mountpoint, volume: name, created },
  };
}

async function existingVolume(api: EngineApi, name: string): Promise<EngineVolume | undefined> {
  try {
    return await api.get<EngineVolume>(`/volumes/${encodeURIComponent(name)}`);
  } catch (err) {
    if (err instanceof EngineApiError && err.status === 404) return undefined;
    throw err;
  }
}

/** Why a volume's files cannot be read here (another host's volume driver, a mountpoint that is not a directory). */
async function mountpointProblem(v: EngineVolume): Promise<string | undefined> {
  if (!v.Mountpoint) return `driver ${v.Driver} gives no mountpoint on this host`;
  const st = await stat(v.Mountpoint).catch((err: NodeJS.ErrnoException) => err);
  if (st instanceof Error) return `mountpoint ${v.Mountpoint} cannot be read: ${st.code ?? st.message}`;
  if (!st.isDirectory()) return `mountpoint ${v.Mountpoint} is not a directory`;
  return undefined;
}

async function refuseNonEmpty(dir: string, message: string, force: boolean | undefined): Promise<void> {
  if (force) return;
  if ((await readdir(dir)).length)
    throw new LifeboatError(ErrorCode.Refused, message, { hint: 'pass --force, or restore into an empty directory' });
}
