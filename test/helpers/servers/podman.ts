/**
 * A throwaway Docker Engine API served by the installed podman
 * (`podman system service` on a unix socket in a temp directory), with helpers
 * to make volumes and busybox containers under a unique name prefix. The
 * offline image and the podman settings come from scripts/pretest.mjs.
 *
 * @module
 */

import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { engineApi, type EngineApi } from '../../../src/sources/docker/engine-api.js';
import { waitUntil } from './free-port.js';

/** Built by scripts/pretest.mjs from Debian's busybox-static: no registry is contacted. */
export const TEST_IMAGE = 'localhost/lifeboat-test-busybox:latest';
/** How podman runs on test machines (nested in a container: no systemd, no cgroup delegation). */
export const PODMAN_FLAGS = ['--runtime', 'runc', '--cgroup-manager=cgroupfs'];

export interface PodmanService {
  socket: string;
  /** Unique per service: every volume and container the test makes starts with it. */
  prefix: string;
  api: EngineApi;
  createVolume(name: string, labels?: Record<string, string>): Promise<{ Mountpoint: string }>;
  /** Create (and unless `start: false`, start) a container from the test image running `script` with `sh -c`. */
  container(
    name: string,
    options: { volumes: Record<string, string>; binds?: Record<string, string>; script: string; start?: boolean },
  ): Promise<void>;
  state(name: string): Promise<string>;
  /** Remove the test's containers and volumes, stop the service, remove its directory. */
  stop(): Promise<void>;
}

export async function startPodmanService(): Promise<PodmanService> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-podman-'));
  const socket = path.join(dir, 'docker.sock');
  const prefix = `lbt${randomBytes(4).toString('hex')}-`;
  let output = '';
  const service: ChildProcess = spawn(
    'podman',
    [...PODMAN_FLAGS, 'system', 'service', '--time=0', `unix://${socket}`],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  service.stdout!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
  service.stderr!.setEncoding('utf8').on('data', (d: string) => (output = (output + d).slice(-4000)));
  const api = engineApi(socket);
  const stop = async () => {
    // Everything under the prefix, also the volumes that restores created.
    const containers = await api.get<Array<{ Names: string[] }>>('/containers/json', { all: 'true' }).catch(() => []);
    for (const c of containers
      .flatMap((x) => x.Names.map((n) => n.replace(/^\//, '')))
      .filter((n) => n.startsWith(prefix)))
      await api.delete(`/containers/${c}`, { force: 'true' }).catch(() => {});
    const volumes = await api
      .get<{ Volumes: Array<{ Name: string }> | null }>('/volumes')
      .catch(() => ({ Volumes: [] }));
    for (const v of (volumes.Volumes ?? []).map((x) => x.Name).filter((n) => n.startsWith(prefix)))
      await api.delete(`/volumes/${v}`, { force: 'true' }).catch(() => {});
    if (service.exitCode === null && service.signalCode === null) {
      const exited = new Promise((r) => service.once('exit', r));
      service.kill('SIGTERM');
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      async () => {
        if (service.exitCode !== null) throw new Error(`podman system service exited: ${output}`);
        if (!(await stat(socket).catch(() => undefined))) return false;
        return api.get('/version').then(
          () => true,
          () => false,
        );
      },
      // Generous: podman's first start on a loaded machine initialises its storage.
      60_000,
      async () => output,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    socket,
    prefix,
    api,
    async createVolume(name, labels = {}) {
      return api.post('/volumes/create', { Name: name, Labels: labels });
    },
    async container(name, options) {
      const mounts = [
        ...Object.entries(options.volumes).map(([v, at]) => ({ Type: 'volume', Source: v, Target: at })),
        ...Object.entries(options.binds ?? {}).map(([from, at]) => ({ Type: 'bind', Source: from, Target: at })),
      ];
      await api.post(
        '/containers/create',
        {
          Image: TEST_IMAGE,
          Cmd: ['sh', '-c', options.script],
          HostConfig: { NetworkMode: 'none', Mounts: mounts },
        },
        { name },
      );
      if (options.start !== false) await api.post(`/containers/${name}/start`);
    },
    async state(name) {
      const inspected = await api.get<{ State: { Status: string } }>(`/containers/${name}/json`);
      return inspected.State.Status;
    },
    stop,
  };
}
