import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, fileHashes, prng, restoredPath, seededBytes } from '../helpers/e2e.js';
import { addServerToken, serveRepository, type ServedRepository } from '../helpers/repository-server.js';

const ADMIN = 'admin passphrase of the busy repository';
const APPEND = 'append passphrase shared by the hosts';
const HOSTS = 8;
/** The requirement: 60 s of load. This is how long the load runs, not a bound on how fast anything is. */
const LOAD_MS = 60_000;
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;
const lastJson = <T>(r: CliResult) => JSON.parse(r.stdout.trim().split('\n').pop()!) as T;

/**
 * Eight hosts back up changing data through one repository server process
 * with their own append tokens for 60 s while an admin runs forget + prune in
 * a loop. Afterwards every snapshot that was not forgotten restores byte for
 * byte what its host had when it was taken, and `check --read-data` is clean.
 * The server's peak memory (VmHWM) is printed for docs/performance.md.
 */
describe('the repository server under 8 concurrent hosts and an admin forget+prune loop', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: ServedRepository;
  let stateDir: string;
  let adminToken: string;
  const tokens: string[] = [];
  const lb = (token: string, password: string, args: string[], cache: string) =>
    runCli(['--repo', server.url, ...args], {
      env: cliEnvFor(path.join(dir, cache), password, { LIFEBOAT_SERVER_TOKEN_FILE: token }),
      timeoutMs: 600_000,
    });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-reposerver-load-'));
    stateDir = path.join(dir, 'server-state');
    adminToken = await addServerToken(stateDir, dir, 'admin', 'admin');
    for (let h = 1; h <= HOSTS; h++) tokens.push(await addServerToken(stateDir, dir, `web-${h}`, 'append'));
    server = await serveRepository([
      '--root',
      path.join(dir, 'stored'),
      '--listen',
      '127.0.0.1:0',
      '--state-dir',
      stateDir,
    ]);
    for (const [args, extra] of [
      [['init'], {}],
      [['key', 'add', '--role', 'append', '--label', 'hosts'], { LIFEBOAT_NEW_PASSWORD: APPEND }],
    ] as const) {
      const r = await runCli(['--repo', server.url, ...args], {
        env: cliEnvFor(path.join(dir, 'cache-admin'), ADMIN, { LIFEBOAT_SERVER_TOKEN_FILE: adminToken, ...extra }),
        timeoutMs: 120_000,
      });
      expect(r.code, show(r)).toBe(0);
    }
  }, 300_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('loses nothing: every snapshot not forgotten restores byte for byte; check --read-data is clean', async () => {
    const deadline = Date.now() + LOAD_MS;
    const expected = new Map<string, { host: number; hashes: Map<string, string>; src: string }>();
    const hostLoop = async (h: number) => {
      const src = path.join(dir, `src-${h}`);
      mkdirSync(src);
      const rng = prng(1000 + h);
      writeFileSync(path.join(src, 'shared.bin'), seededBytes(prng(1), 512 * 1024)); // the same on every host: deduplicated
      let failures = 0;
      for (let round = 0; Date.now() < deadline || round === 0; round++) {
        writeFileSync(path.join(src, `round-${round}.bin`), seededBytes(rng, 256 * 1024));
        writeFileSync(path.join(src, 'state.txt'), `host ${h} round ${round}\n`);
        const hashes = fileHashes(src);
        const r = await lb(
          tokens[h - 1]!,
          APPEND,
          ['--json', '--retry-lock', '5m', 'backup', '--host', `web-${h}`, src],
          `cache-${h}`,
        );
        if (r.code !== 0) {
          // Backups wait for the admin's exclusive steps (--retry-lock); only a lock may still stop one.
          expect(lastJson<{ error: { code: string } }>(r).error.code, show(r)).toBe('locked');
          failures++;
          continue;
        }
        expected.set(lastJson<{ snapshot: { id: string } }>(r).snapshot.id, { host: h, hashes, src });
      }
      return failures;
    };
    const forgotten = new Set<string>();
    let adminRounds = 0;
    const adminLoop = async () => {
      while (Date.now() < deadline) {
        const f = await lb(
          adminToken,
          ADMIN,
          ['--json', '--retry-lock', '30s', 'forget', '--keep-last', '2', '--force'],
          'cache-admin',
        );
        if (f.code === 0)
          for (const r of lastJson<{ removed: Array<{ snapshot: string }> }>(f).removed) forgotten.add(r.snapshot);
        else {
          // Before the first backup there is nothing to do (exit 1, an empty plan); else only backups' locks stop it.
          const last = lastJson<{ plan?: unknown[]; error?: { code: string } }>(f);
          if (last.plan?.length !== 0) expect(last.error?.code, show(f)).toBe('locked');
        }
        const p = await lb(adminToken, ADMIN, ['--json', 'prune', '--grace', '0'], 'cache-admin');
        // A sweep deferred because backups hold the repository is exit 11 (locked), with the mark done.
        expect([0, 11], show(p)).toContain(p.code);
        adminRounds++;
      }
    };
    const [, ...hostFailures] = await Promise.all([
      adminLoop(),
      ...Array.from({ length: HOSTS }, (_, i) => hostLoop(i + 1)),
    ]);
    const peak = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${server.child.pid}/status`, 'utf8'))?.[1];
    console.log(
      `repository server under ${HOSTS} hosts for ${LOAD_MS / 1000} s: ${expected.size} backups, ${forgotten.size} forgotten, ` +
        `${adminRounds} forget+prune rounds, backups refused by the lock: ${hostFailures.join(',')}; ` +
        `server VmHWM ${peak} kB; load average ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
    );
    expect(adminRounds).toBeGreaterThan(0);
    expect(forgotten.size).toBeGreaterThan(0);

    const listed = await lb(adminToken, ADMIN, ['--json', 'snapshots'], 'cache-admin');
    expect(listed.code, show(listed)).toBe(0);
    const present = new Set(lastJson<{ snapshots: Array<{ id: string }> }>(listed).snapshots.map((s) => s.id));
    for (const id of expected.keys())
      expect(present.has(id) || forgotten.has(id), `snapshot ${id} was lost`).toBe(true);
    const kept = [...expected].filter(([id]) => present.has(id));
    expect(kept.length).toBeGreaterThanOrEqual(HOSTS);
    for (const [id, e] of kept) {
      const target = path.join(dir, `restored-${id.slice(0, 12)}`);
      const r = await lb(adminToken, ADMIN, ['restore', id, '--target', target], 'cache-admin');
      expect(r.code, show(r)).toBe(0);
      expect(fileHashes(restoredPath(target, e.src)), `snapshot ${id} of web-${e.host}`).toEqual(e.hashes);
    }
    const check = await lb(adminToken, ADMIN, ['check', '--read-data'], 'cache-admin');
    expect(check.code, show(check)).toBe(0);
  }, 1_800_000);
});
