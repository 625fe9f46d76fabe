import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { startRepositoryServer } from '../../src/repo-server/start.js';
import { TokenStore, tokensFile } from '../../src/repo-server/tokens.js';
import { createHttpStorage } from '../../src/storage/drivers/http/index.js';
import { openStorage } from '../../src/storage/registry.js';
import { describeStorageConformance } from '../../src/storage/testing/conformance.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

/**
 * The repository server storing in S3 (a real S3-compatible server on
 * loopback), reached through the HTTP driver opened as any command opens it
 * (token from the environment): it holds to the same storage contract, and
 * offers no stale-temporary removal because S3 writes no temporaries.
 */
let s3: S3Server;
let tmp: string;

beforeAll(async () => {
  s3 = await startS3Server();
  tmp = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-reposerver-s3-'));
}, 30_000);
afterAll(async () => {
  await s3?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describeStorageConformance('repository server (HTTP driver, admin token, S3 backend)', async () => {
  const stateDir = path.join(tmp, randomBytes(6).toString('hex'));
  const { token } = new TokenStore(tokensFile(stateDir)).add('admin', 'admin');
  const backend = await openStorage(`s3://lb-${randomBytes(6).toString('hex')}/served`, {
    create: true,
    remote: { endpoint: s3.endpoint, region: 'us-east-1', pathStyle: true, credentialsFile: s3.credentialsFile },
  });
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
      storage,
      cleanup: async () => {
        await storage.close();
        await server.close();
        await backend.close();
      },
    };
  } finally {
    if (saved === undefined) delete process.env.LIFEBOAT_SERVER_TOKEN;
    else process.env.LIFEBOAT_SERVER_TOKEN = saved;
  }
});
