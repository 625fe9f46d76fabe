import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startRepositoryServer } from '../../src/repo-server/start.js';
import { TokenStore, tokensFile } from '../../src/repo-server/tokens.js';
import type { Storage } from '../../src/storage/contract.js';
import { createHttpStorage } from '../../src/storage/drivers/http/index.js';
import { createSftpStorage } from '../../src/storage/drivers/sftp/sftp.js';
import { openStorage } from '../../src/storage/registry.js';
import {
  describeStorageConformance,
  temporariesOnDisk,
  type StorageUnderTest,
} from '../../src/storage/testing/conformance.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';
import { startSshd, type SshdServer } from '../helpers/servers/sshd.js';

/**
 * The repository server storing in S3 and over SFTP (real servers on
 * loopback), reached through the HTTP driver opened as any command opens it
 * (token from the environment): it holds to the same storage contract as the
 * backend itself, and offers stale-temporary removal exactly when the backend
 * writes temporaries (SFTP yes, S3 no).
 */
let s3: S3Server;
let sshd: SshdServer;
let tmp: string;
let counter = 0;

beforeAll(async () => {
  s3 = await startS3Server();
  sshd = await startSshd();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-reposerver-backends-'));
}, 60_000);
afterAll(async () => {
  await s3?.stop();
  await sshd?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Serves `backend` with one admin token and opens it the way `--repo lifeboat+http://…` does. */
async function served(backend: Storage, extra: Partial<StorageUnderTest> = {}): Promise<StorageUnderTest> {
  const stateDir = path.join(tmp, `state-${++counter}`);
  const { token } = new TokenStore(tokensFile(stateDir)).add('admin', 'admin');
  const server = await startRepositoryServer({
    storage: backend,
    name: 'repo',
    listen: '127.0.0.1:0',
    stateDir,
    log: () => undefined,
  });
  const saved = process.env.LIFEBOAT_SERVER_TOKEN;
  process.env.LIFEBOAT_SERVER_TOKEN = token;
  try {
    const storage = await createHttpStorage(new URL(server.url), {});
    return {
      ...extra,
      storage,
      cleanup: async () => {
        await storage.close();
        await server.close();
        await backend.close();
        await extra.cleanup?.();
      },
    };
  } finally {
    if (saved === undefined) delete process.env.LIFEBOAT_SERVER_TOKEN;
    else process.env.LIFEBOAT_SERVER_TOKEN = saved;
  }
}

describeStorageConformance('repository server (HTTP driver, admin token, S3 backend)', async () =>
  served(
    await openStorage(`s3://lb-${randomBytes(6).toString('hex')}/served`, {
      create: true,
      remote: { endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true, credentialsFile: s3.credentialsFile },
    }),
  ),
);

describeStorageConformance(
  'repository server (HTTP driver, admin token, SFTP backend)',
  async () => {
    const root = path.join(sshd.dir, 'repos', `served-${++counter}`);
    const backend = await createSftpStorage(new URL(sshd.url(root, 'root')), {
      create: true,
      remote: { identityFile: sshd.clientKey, knownHosts: sshd.knownHosts },
      env: { HOME: sshd.dir },
    });
    return served(backend, {
      temporaries: temporariesOnDisk(root),
      cleanup: () => rm(root, { recursive: true, force: true }),
    });
  },
  { writesTemporaries: true },
);
