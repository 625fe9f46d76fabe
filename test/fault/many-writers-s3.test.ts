import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/storage/registry.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, prng, seededBytes } from '../helpers/e2e.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

/**
 * Many hosts, one S3 repository: 8 processes back up overlapping data over and
 * over while a forget + prune loop runs. Afterwards the repository checks
 * clean with every byte read, every snapshot restores, and the data the hosts
 * share is stored once.
 */
const HOSTS = 8;
const ROUNDS = 3;

describe('8 hosts backing up into one S3 repository while forget and prune run', () => {
  let server: S3Server;
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  const bucket = 'lifeboat-shared';
  const prefix = 'site';
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, '--repo', 'shared', ...args], {
      env: cliEnvFor(path.join(dir, 'cache', String(Math.random()).slice(2)), undefined, {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
      }),
      timeoutMs: 300_000,
    });
  const show = (what: string, r: CliResult) =>
    `${what}: exit ${r.code} ${r.signal ?? ''}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;

  beforeAll(async () => {
    server = await startS3Server();
    ({ dir, cleanup } = await tempDir('lifeboat-many-writers-'));
    const rng = prng(8);
    mkdirSync(path.join(dir, 'common'));
    for (let i = 0; i < 4; i++)
      writeFileSync(path.join(dir, 'common', `shared-${i}.bin`), seededBytes(rng, 512 * 1024));
    for (let h = 0; h < HOSTS; h++) mkdirSync(path.join(dir, `own-${h}`));
    writeFileSync(path.join(dir, 'repo.pass'), 'many writers passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1\nrepositories:\n  shared: { url: "s3://${bucket}/${prefix}", endpoint: "${server.endpoint}", region: us-east-1, path_style: true, credentials_file: "${server.credentialsFile}", password_file: repo.pass }\n`,
    );
    const init = await lb(['init']);
    expect(init.code, show('init', init)).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('keeps every snapshot restorable and the repository clean', async () => {
    const failures: string[] = [];
    let writing = true;
    const writers = Array.from({ length: HOSTS }, async (_, h) => {
      const rng = prng(100 + h);
      for (let round = 0; round < ROUNDS; round++) {
        writeFileSync(path.join(dir, `own-${h}`, `round-${round}.bin`), seededBytes(rng, 96 * 1024 + round));
        const r = await lb([
          '--retry-lock',
          '5m',
          'backup',
          '--host',
          `host-${h}`,
          path.join(dir, 'common'),
          path.join(dir, `own-${h}`),
        ]);
        if (r.code !== 0) failures.push(show(`backup host-${h} round ${round}`, r));
      }
    });
    const maintenance = (async () => {
      let rounds = 0;
      while (writing || rounds < 2) {
        const f = await lb(['--retry-lock', '5m', 'forget', '--keep-last', '1', '--force']);
        // Before the first backup lands there is nothing to apply retention to: said, with exit 1.
        const idle = f.code === 1 && f.stdout.includes('nothing to do: the repository holds no snapshot');
        if (f.code !== 0 && !idle) failures.push(show('forget', f));
        const p = await lb(['--retry-lock', '5m', 'prune', '--grace', '0s']);
        if (p.code !== 0) failures.push(show('prune', p));
        rounds++;
      }
      return rounds;
    })();
    await Promise.all(writers);
    writing = false;
    const maintenanceRounds = await maintenance;
    expect(failures, failures.join('\n\n')).toEqual([]);
    expect(maintenanceRounds).toBeGreaterThanOrEqual(2);

    const check = await lb(['check', '--read-data']);
    expect(check.code, show('check', check)).toBe(0);
    const list = await lb(['--json', 'snapshots']);
    const snapshots = (JSON.parse(list.stdout) as { snapshots: Array<{ id: string; host: string }> }).snapshots;
    expect(new Set(snapshots.map((s) => s.host)).size).toBe(HOSTS); // every host keeps its last snapshot
    for (const s of snapshots) {
      const r = await lb(['restore', s.id, '--target', path.join(dir, 'restored', s.id)]);
      expect(r.code, show(`restore ${s.id.slice(0, 8)}`, r)).toBe(0);
    }

    // Deduplication across hosts: the shared 2 MiB are stored once, not eight times (each host adds its own ~300 KB).
    const storage = await openStorage(`s3://${bucket}/${prefix}`, {
      remote: {
        endpoint: server.endpoint,
        region: 'us-east-1',
        pathStyle: true,
        credentialsFile: server.credentialsFile,
      },
    });
    const stored = (await storage.list('data/')).reduce((n, o) => n + o.size, 0);
    await storage.close();
    const own = HOSTS * ROUNDS * 97 * 1024;
    expect(stored).toBeLessThan(1.5 * 2 * 1024 * 1024 + own);
  }, 600_000);
});
