import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../errors/index.js';
import { Repository } from '../../repository/repository.js';
import { openStorage } from '../../storage/registry.js';
import { expectCode } from '../../storage/testing/conformance.js';
import { backupSource, restoreSource } from '../run-source.js';
import { readSnapshotFile, snapshotFileNode } from '../snapshot-file.js';
import { describeSourceConformance } from '../testing/source-suite.js';

async function makeAppTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'conf.d'), { recursive: true });
  await mkdir(path.join(root, 'certs'), { recursive: true });
  await writeFile(path.join(root, 'app.yaml'), 'listen: 8080\ndb: /var/lib/app/app.db\n');
  for (let i = 0; i < 40; i++) await writeFile(path.join(root, 'conf.d', `${i}.yaml`), `item: ${i}\n`.repeat(i + 1));
  await writeFile(
    path.join(root, 'certs', 'tls.crt'),
    '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
  );
  await writeFile(path.join(root, 'secrets.yaml'), 'api_key: s3cr3t-value\n', { mode: 0o600 });
  await writeFile(path.join(root, 'tls.key'), '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n', {
    mode: 0o600,
  });
}

function ageKeygen(file: string): string {
  const r = spawnSync('age-keygen', ['-o', file], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return /Public key: (age1[0-9a-z]+)/.exec(r.stderr)![1]!;
}

describeSourceConformance('files', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-files-'));
  const app = path.join(dir, 'app');
  await makeAppTree(app);
  let n = 0;
  return {
    config: { type: 'files', paths: [app], exclude: ['*.tmp'] },
    secrets: [],
    startWriter: async () => {
      let stop = false;
      let i = 0;
      const loop = (async () => {
        while (!stop) {
          await writeFile(path.join(app, 'conf.d', `live-${i++ % 50}.yaml`), `n: ${i}\n`);
          await new Promise((r) => setTimeout(r, 2));
        }
      })();
      return async () => {
        stop = true;
        await loop;
      };
    },
    restoreTarget: async () => ({ target: path.join(dir, `restored-${++n}`) }),
    unreachable: { type: 'files', paths: [path.join(dir, 'does-not-exist', '*.yaml')] },
    recordedFields: ['files', 'bytes'],
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe('files source sealed with age', () => {
  let work: string;
  let repo: Repository;
  let app: string;
  let identity: string;
  let recipient: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-seal-'));
    app = path.join(work, 'etc-app');
    await makeAppTree(app);
    identity = path.join(work, 'offline-key.txt');
    recipient = ageKeygen(identity);
    repo = await Repository.init(await openStorage(path.join(work, 'repo'), { create: true }), Buffer.from('pw'));
  });
  afterAll(async () => {
    await repo.close();
    await rm(work, { recursive: true, force: true });
  });

  const sealedConfig = () => ({
    type: 'files' as const,
    paths: [path.join(app, 'secrets.yaml'), path.join(app, '*.key')],
    seal_to: [recipient],
  });

  it('stores only sealed bytes, which the standard age CLI opens', async () => {
    const { snapshot, record } = await backupSource(repo, 'secrets', sealedConfig());
    expect(record).toMatchObject({ sealed: true, files: 2 });
    expect(snapshot.paths.sort()).toEqual([path.join(app, 'secrets.yaml.age'), path.join(app, 'tls.key.age')]);
    const stored = path.join(app, 'secrets.yaml.age');
    const chunks: Buffer[] = [];
    for await (const c of readSnapshotFile(repo, await snapshotFileNode(repo, snapshot, stored), stored))
      chunks.push(c);
    const sealed = Buffer.concat(chunks);
    expect(sealed.toString('latin1')).not.toContain('s3cr3t-value');
    expect(sealed.subarray(0, 21).toString()).toBe('age-encryption.org/v1');
    const opened = spawnSync('age', ['-d', '-i', identity], { input: sealed });
    expect(opened.status, opened.stderr.toString()).toBe(0);
    expect(opened.stdout.toString()).toBe('api_key: s3cr3t-value\n');
  });

  it('restores with the identity, with the original names and modes', async () => {
    const { snapshot } = await backupSource(repo, 'secrets', sealedConfig());
    const target = path.join(work, 'restored');
    const result = await restoreSource(repo, snapshot, { target, identity });
    expect(result.checks.every((c) => c.ok)).toBe(true);
    const restored = path.join(target, app, 'secrets.yaml');
    expect(await readFile(restored, 'utf8')).toBe('api_key: s3cr3t-value\n');
    expect((await stat(restored)).mode & 0o777).toBe(0o600);
  });

  it('asks for an identity, and refuses the wrong one', async () => {
    const { snapshot } = await backupSource(repo, 'secrets', sealedConfig());
    await expectCode(restoreSource(repo, snapshot, { target: path.join(work, 'no-identity') }), ErrorCode.Usage);
    const other = path.join(work, 'other-key.txt');
    ageKeygen(other);
    await expectCode(
      restoreSource(repo, snapshot, { target: path.join(work, 'wrong-identity'), identity: other }),
      ErrorCode.WrongPassword,
    );
  });

  it('expands globs in paths', async () => {
    const config = { type: 'files' as const, paths: [path.join(app, 'conf.d', '1*.yaml')] };
    const { snapshot } = await backupSource(repo, 'globbed', config);
    expect(snapshot.paths.length).toBe(11); // 1.yaml and 10–19.yaml
  });
});
