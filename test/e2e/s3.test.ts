import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, compareTrees, prng, restoredPath, scanTree, seededBytes } from '../helpers/e2e.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

/**
 * An s3:// repository configured in lifeboat.yaml, end to end through the
 * built CLI against a real S3-compatible server: init creates the bucket,
 * backup, restore and check --read-data go through the S3 driver.
 */
describe('s3:// repository through the CLI', () => {
  let server: S3Server;
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let src: string;
  const bucket = 'lifeboat-e2e';
  const lb = (args: string[]): Promise<CliResult> =>
    runCli(['--config', config, ...args], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined, {
        AWS_ACCESS_KEY_ID: undefined,
        AWS_SECRET_ACCESS_KEY: undefined,
      }),
    });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  beforeAll(async () => {
    server = await startS3Server();
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-s3-'));
    src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'sub'), { recursive: true });
    const rng = prng(7);
    writeFileSync(path.join(src, 'small.txt'), 'hello s3\n');
    writeFileSync(path.join(src, 'sub', 'big.bin'), seededBytes(rng, 24 * 1024 * 1024)); // more than one pack
    writeFileSync(path.join(dir, 'repo.pass'), 'a long repository passphrase\n', { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
repositories:
  off:
    url: s3://${bucket}/backups/host1
    endpoint: ${server.endpoint}
    region: us-east-1
    path_style: true
    credentials_file: ${server.credentialsFile}
    password_file: repo.pass
`,
    );
  }, 30_000);
  afterAll(async () => {
    await cleanup?.();
    await server?.stop();
  });

  it('init creates the bucket and the repository, showing the location without credentials', async () => {
    const r = await lb(['init', '--repo', 'off']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`s3://${bucket}/backups/host1 on 127.0.0.1:${server.port}`);
    expect(r.stdout + r.stderr).not.toContain('NodeVersionSupportWarning');
    const again = await lb(['init', '--repo', 'off']);
    expect(again.code, show(again)).not.toBe(0);
    expect(again.stderr).toContain('already exists');
  }, 60_000);

  it('backs up, restores byte-identical and checks every byte', async () => {
    const backup = await lb(['--json', 'backup', '--repo', 'off', src]);
    expect(backup.code, show(backup)).toBe(0);
    const target = path.join(dir, 'restored');
    const restore = await lb(['restore', 'latest', '--repo', 'off', '--target', target]);
    expect(restore.code, show(restore)).toBe(0);
    expect(compareTrees(scanTree(src), scanTree(restoredPath(target, src)))).toEqual([]);
    const check = await lb(['--json', 'check', '--repo', 'off', '--read-data']);
    expect(check.code, show(check)).toBe(0);
    const report = lastJson<{ ok: boolean; packs: number; packsRead: number; findings: unknown[] }>(check.stdout);
    expect(report.ok).toBe(true);
    expect(report.findings).toEqual([]);
    expect(report.packs).toBeGreaterThan(1);
    expect(report.packsRead).toBe(report.packs);
    expect(await server.incompleteUploads(bucket)).toEqual([]);
  }, 120_000);

  it('fails with exit 10 when the bucket does not exist', async () => {
    const other = path.join(dir, 'missing.yaml');
    writeFileSync(
      other,
      `version: 1
repositories:
  gone: { url: "s3://no-such-bucket/x", endpoint: "${server.endpoint}", region: us-east-1, path_style: true, credentials_file: "${server.credentialsFile}", password_file: repo.pass }
`,
    );
    const r = await runCli(['--config', other, 'snapshots', '--repo', 'gone'], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined),
    });
    expect(r.code, show(r)).toBe(10);
    expect(r.stderr).toContain('no-such-bucket');
  }, 60_000);
});
