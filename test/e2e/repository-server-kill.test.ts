import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpStorage, parseServerUrl } from '../../src/storage/drivers/http/index.js';
import { runCli, startCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, compareTrees, prng, restoredPath, scanTree, seededBytes } from '../helpers/e2e.js';
import { addServerToken, serveRepository, type ServedRepository } from '../helpers/repository-server.js';

const PW = 'passphrase of the repository whose server is killed';
const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`;
/** Objects named by the SHA-256 of their stored bytes: a partial one cannot match its name. */
const CONTENT_ADDRESSED = ['data/', 'index/', 'snapshots/', 'prune/', 'audit/'];

/**
 * SIGKILL of the server process while a large backup uploads through it: after
 * a restart, every object the server lists reads whole (each content-addressed
 * one matches its name), the interrupted backup either retried to success or
 * failed with a clean error, `check --read-data` finds nothing wrong, and a new
 * backup works and restores byte for byte.
 */
describe('kill -9 of the repository server mid-upload', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: ServedRepository;
  let root: string;
  let stateDir: string;
  let src: string;
  let adminToken: string;
  let appendToken: string;
  let listen: string;
  const serve = () => serveRepository(['--root', root, '--listen', listen, '--state-dir', stateDir]);
  const lb = (token: string, args: string[]) =>
    runCli(['--repo', server.url, ...args], {
      env: cliEnvFor(path.join(dir, `cache-${path.basename(token)}`), PW, { LIFEBOAT_SERVER_TOKEN_FILE: token }),
      timeoutMs: 600_000,
    });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-reposerver-kill-'));
    root = path.join(dir, 'stored');
    stateDir = path.join(dir, 'server-state');
    src = path.join(dir, 'src');
    mkdirSync(src);
    const rng = prng(99);
    // Incompressible, several packs: uploads go on for a while after the first pack lands.
    for (let i = 0; i < 6; i++) writeFileSync(path.join(src, `big-${i}.bin`), seededBytes(rng, 8 * 1024 * 1024));
    adminToken = await addServerToken(stateDir, dir, 'admin', 'admin');
    appendToken = await addServerToken(stateDir, dir, 'web-1', 'append');
    listen = '127.0.0.1:0';
    server = await serve();
    listen = new URL(server.url.replace('lifeboat+', '')).host; // restart on the same port
    const init = await lb(adminToken, ['init']);
    expect(init.code, show(init)).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('leaves no partial object visible; the backup retries or fails cleanly; a new backup works', async () => {
    const child = startCli(['--repo', server.url, '--json', 'backup', src], {
      env: cliEnvFor(path.join(dir, 'cache-backup'), PW, { LIFEBOAT_SERVER_TOKEN_FILE: appendToken }),
    });
    let out = '';
    let err = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Wait (polling, no time bound) until the first pack is stored: more uploads are in flight then.
    const packs = () =>
      existsSync(path.join(root, 'data'))
        ? readdirSync(path.join(root, 'data'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile())
        : [];
    while (packs().length === 0 && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    expect(child.exitCode, `the backup ended before any pack was stored: ${err}`).toBeNull();
    const killed = new Promise<void>((resolve) => server.child.once('exit', () => resolve()));
    server.child.kill('SIGKILL');
    await killed;
    server = await serve();

    const code = await exited;
    if (code !== 0) {
      // A clean failure: one JSON error line naming a storage or network problem, no crash.
      const last = JSON.parse(out.trim().split('\n').pop()!) as { type: string; error: { code: string } };
      expect(last.type, out).toBe('error');
      expect(['storage', 'network', 'unavailable', 'locked', 'interrupted']).toContain(last.error.code);
    }
    expect(err).not.toMatch(/Unhandled|TypeError|RangeError|at .*\.js:\d+/);

    // Every object the server lists reads whole.
    const admin = new HttpStorage(parseServerUrl(new URL(server.url)), readFileSync(adminToken, 'utf8').trim());
    try {
      const listed = await admin.list('');
      expect(listed.length).toBeGreaterThan(0);
      for (const o of listed) {
        const bytes = await admin.get(o.name);
        expect(bytes.length, o.name).toBe(o.size);
        if (CONTENT_ADDRESSED.some((p) => o.name.startsWith(p)))
          expect(createHash('sha256').update(bytes).digest('hex'), o.name).toBe(path.basename(o.name));
      }
    } finally {
      await admin.close();
    }
    const check = await lb(adminToken, ['check', '--read-data']);
    expect(check.code, show(check)).toBe(0);

    writeFileSync(path.join(src, 'after.txt'), 'written after the server was killed\n');
    const again = await lb(appendToken, ['backup', src]);
    expect(again.code, show(again)).toBe(0);
    const target = path.join(dir, 'restored');
    const restore = await lb(appendToken, ['restore', 'latest', '--target', target]);
    expect(restore.code, show(restore)).toBe(0);
    expect(compareTrees(scanTree(src), scanTree(restoredPath(target, src)))).toEqual([]);
  }, 900_000);
});
