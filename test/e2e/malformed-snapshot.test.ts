import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';
import { openRepo } from '../helpers/repo-lib.js';
import type { Snapshot } from '../../src/repository/format/index.js';

/**
 * A snapshot object that is authentic (encrypted with the repository's key, so
 * it passes authentication) but malformed (`summary: null`): listings skip it
 * and name it, they never crash, and the other snapshots stay usable.
 */
describe('an authentic but malformed snapshot', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let badId: string;
  const PASSWORD = 'malformed e2e passphrase';
  const env = () => cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined });
  const lb = (args: string[]) => runCli(['--config', config, ...args], { env: env() });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-malformed-'));
    writeFileSync(path.join(dir, 'repo.pass'), `${PASSWORD}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'notes.txt'), 'remember the milk\n');
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  notes: { type: files, paths: [./notes.txt] }
server: { listen: "127.0.0.1:0" }
`,
    );
    for (const args of [
      ['init', '--repo', 'local'],
      ['backup', '--source', 'notes'],
    ]) {
      const r = await lb(args);
      expect(r.code, show(r)).toBe(0);
    }
    const repo = await openRepo(path.join(dir, 'repo'), PASSWORD);
    const good = (await repo.listSnapshots()).snapshots[0]!;
    const { id: _id, ...record } = good;
    badId = await repo.saveSnapshot({
      ...record,
      time: new Date().toISOString(),
      summary: null,
    } as unknown as Snapshot);
    await repo.close();
  });
  afterAll(async () => cleanup());

  it('snapshots lists the good ones and names the malformed one', async () => {
    const r = await lb(['snapshots']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stderr).not.toContain('Cannot read properties');
    expect(r.stderr).toContain(badId);
    expect(r.stderr).toContain('summary');
    expect(r.stdout).toContain('notes');
    const json = JSON.parse((await lb(['--json', 'snapshots'])).stdout) as {
      snapshots: unknown[];
      problems: Array<{ object: string; error: { code: string } }>;
    };
    expect(json.snapshots).toHaveLength(1);
    expect(json.problems).toEqual([
      expect.objectContaining({ object: `snapshots/${badId}`, error: expect.objectContaining({ code: 'corrupt' }) }),
    ]);
    const ls = await lb(['ls', 'latest', '--source', 'notes']);
    expect(ls.code, show(ls)).toBe(0);
    expect(ls.stdout).toContain('notes.txt');
  });

  it('GET /api/v1/snapshots answers with the good ones and names the malformed one', async () => {
    const child = startCli(['--config', config, 'serve'], { env: env() });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        // generous: the daemon starts in well under a second on an idle machine
        const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 60_000);
        child.stderr!.on('data', () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const token = readFileSync(path.join(dir, 'state', 'api.token'), 'utf8').trim();
      const res = await fetch(`${url}/api/v1/snapshots`, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as {
        snapshots: Array<{ id: string }>;
        unreadable: Array<{ repository: string; object: string; error: string }>;
      };
      expect(res.status, JSON.stringify(body)).toBe(200);
      expect(body.snapshots).toHaveLength(1);
      expect(body.snapshots[0]!.id).not.toBe(badId);
      expect(body.unreadable).toEqual([expect.objectContaining({ repository: 'local', object: `snapshots/${badId}` })]);
      expect(body.unreadable[0]!.error).toContain('summary');
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});
