import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, startCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * The HTTP API under load: while backups run, `lifeboat serve` (its own process)
 * gets 1,000 authenticated requests per second for 60 s — the status document
 * and /healthz over keep-alive connections (node:http), from a paced, bounded loop here —
 * and must answer every one with 200, stay up and stop cleanly.
 *
 * What the daemon costs is measured where it is spent: the daemon's own CPU time
 * over the load (from /proc/<pid>/stat), held below 80% of one core at 1,000
 * requests/s. Measured: 41% of a core on a 2-core machine that other work kept
 * busy at the same time (CPU time itself grows when cores are shared). The bar
 * is generous so that a busy machine cannot fail it; an API that did real work
 * per request, such as reading the repository or the run history from disk,
 * would cross it.
 *
 * The backups (`lifeboat backup` of a fixed 48 MiB dataset into a fresh
 * repository each time, so nothing deduplicates) run in their own processes,
 * before, during and after the load; their CPU time (getrusage at exit) is
 * compared too, with a 35% bar. It is not the daemon's bar: two processes that
 * share two cores slow each other's CPU time through shared caches and
 * scheduling alone (+6% to +13% measured across machines with the same daemon),
 * so a tight bar here measures the machine. What it catches is a daemon that
 * makes the backup do more work (lock waits, contention inside it), which shows
 * as a far larger growth. Wall times are printed for the record. `npm test` runs
 * this file on its own, after the rest of the suite.
 */
const LOAD_SECONDS = 60;

const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** User + system CPU milliseconds of a live process, from /proc/<pid>/stat (fields 14 and 15, in clock ticks). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS) * 1000;
}
const RATE = 1000;

describe('API under load while backups run', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let repos = 0;
  const env = (extra: Record<string, string> = {}) =>
    cliEnvFor(path.join(dir, 'cache'), 'load test passphrase', { LIFEBOAT_STATE_DIR: undefined, ...extra });

  /** One backup of the dataset into a new repository, in its own process: wall and CPU milliseconds. */
  const backup = async (): Promise<{ wallMs: number; cpuMs: number }> => {
    const repo = path.join(dir, `repo-${++repos}`);
    const init = await runCli(['init', '--repo', repo], { env: env() });
    expect(init.code, init.stderr).toBe(0);
    const usage = path.join(dir, `rusage-${repos}.json`);
    const t0 = performance.now();
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          '--import',
          path.join(import.meta.dirname, 'rusage-preload.mjs'),
          CLI,
          'backup',
          '--repo',
          repo,
          path.join(dir, 'data'),
        ],
        {
          env: {
            ...(Object.fromEntries(
              Object.entries(env({ LIFEBOAT_TEST_RUSAGE_FILE: usage })).filter(([, v]) => v !== undefined),
            ) as NodeJS.ProcessEnv),
          },
          stdio: 'ignore',
        },
      );
      child.on('error', reject);
      child.on('exit', resolve);
    });
    const wallMs = performance.now() - t0;
    expect(code).toBe(0);
    const r = JSON.parse(readFileSync(usage, 'utf8')) as { userMs: number; systemMs: number };
    return { wallMs, cpuMs: r.userMs + r.systemMs };
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-load-'));
    mkdirSync(path.join(dir, 'data'));
    // 48 files of 1 MiB: hash-chain bytes (incompressible), every other file half compressible.
    let seed = createHash('sha256').update('lifeboat load test').digest();
    for (let i = 0; i < 48; i++) {
      const b = Buffer.alloc(1 << 20);
      for (let o = 0; o < b.length; o += 32) (seed = createHash('sha256').update(seed).digest()).copy(b, o);
      if (i % 2) b.fill(0x41, 0, 1 << 19);
      writeFileSync(path.join(dir, 'data', `f${i}.bin`), b);
    }
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(path.join(dir, 'repo.pass'), 'load test passphrase\n', { mode: 0o600 });
    writeFileSync(
      config,
      `version: 1\nstate_dir: ./state\nrepositories:\n  local: { url: ./repo-0, password_file: repo.pass }\nsources:\n  data: { type: files, paths: [./data] }\njobs:\n  nightly: { schedule: "0 3 * * *", sources: [data], to: local }\nserver: { listen: "127.0.0.1:0" }\n`,
    );
    const init = await runCli(['--config', config, 'init', '--repo', 'local'], { env: env() });
    expect(init.code, init.stderr).toBe(0);
  });
  afterAll(async () => cleanup?.());

  it(`serves ${RATE} requests/s for ${LOAD_SECONDS} s without an error using under 80% of a core, backups unharmed`, async () => {
    const server = startCli(['--config', config, 'serve'], { env: env() });
    let stderr = '';
    server.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 20_000);
        server.stderr!.on('data', () => {
          const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        });
      });
      const token = readFileSync(path.join(dir, 'state', 'api.token'), 'utf8').trim();
      const headers = { authorization: `Bearer ${token}` };
      // node:http with a keep-alive pool: lighter on the client's CPU than fetch.
      const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
      const base = new URL(url);

      // Quiet backups before and after the load; their CPU time alone varies by ±10%, so several on each side.
      await backup(); // warm-up, not counted
      const quiet = [await backup(), await backup(), await backup()];

      // The load: a paced loop (every 10 ms, the requests due by then), at most 64 in flight.
      const counts = { sent: 0, ok: 0, non200: 0, errors: 0 };
      const failures: string[] = [];
      let inFlight = 0;
      let stop = false;
      const cpu0 = process.cpuUsage();
      const daemonCpu0 = processCpuMs(server.pid!);
      const started = performance.now();
      const one = async (i: number) => {
        inFlight++;
        counts.sent++;
        const p = i % 2 ? '/api/v1/system/backup/status' : '/healthz';
        try {
          const status = await new Promise<number>((resolve, reject) => {
            const req = http.get({ host: base.hostname, port: base.port, path: p, headers, agent }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
              res.on('error', reject);
            });
            req.on('error', reject);
          });
          if (status === 200) counts.ok++;
          else {
            counts.non200++;
            failures.push(`${p}: ${status}`);
          }
        } catch (err) {
          counts.errors++;
          failures.push(`${p}: ${String((err as Error).cause ?? err)}`);
        } finally {
          inFlight--;
        }
      };
      const load = (async () => {
        while (!stop) {
          const due = Math.min(LOAD_SECONDS * RATE, Math.floor(((performance.now() - started) / 1000) * RATE));
          while (counts.sent < due && inFlight < 64) void one(counts.sent);
          if (counts.sent >= LOAD_SECONDS * RATE) break;
          await new Promise((r) => setTimeout(r, 10));
        }
        while (inFlight > 0) await new Promise((r) => setTimeout(r, 5));
      })();
      const loaded: Array<{ wallMs: number; cpuMs: number }> = [];
      while (performance.now() - started < (LOAD_SECONDS - 6) * 1000) loaded.push(await backup());
      await load;
      stop = true;
      agent.destroy();
      const seconds = (performance.now() - started) / 1000;
      const clientCpu = process.cpuUsage(cpu0);
      const daemonCpuMs = processCpuMs(server.pid!) - daemonCpu0;

      quiet.push(await backup(), await backup(), await backup());
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);

      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
      const quietCpu = median(quiet.map((b) => b.cpuMs));
      const loadedCpu = median(loaded.map((b) => b.cpuMs));
      const figures = {
        requests: counts.sent,
        seconds: Number(seconds.toFixed(1)),
        rate: Math.round(counts.sent / seconds),
        daemon_cpu_pct: Number(((daemonCpuMs / (seconds * 1000)) * 100).toFixed(1)),
        client_cpu_pct: Number((((clientCpu.user + clientCpu.system) / 1000 / (seconds * 1000)) * 100).toFixed(1)),
        backups_quiet: quiet.map((b) => `${Math.round(b.wallMs)}ms wall/${Math.round(b.cpuMs)}ms cpu`),
        backups_loaded: loaded.map((b) => `${Math.round(b.wallMs)}ms wall/${Math.round(b.cpuMs)}ms cpu`),
        cpu_growth_pct: Number((((loadedCpu - quietCpu) / quietCpu) * 100).toFixed(1)),
        wall_growth_pct: Number(
          (
            ((median(loaded.map((b) => b.wallMs)) - median(quiet.map((b) => b.wallMs))) /
              median(quiet.map((b) => b.wallMs))) *
            100
          ).toFixed(1),
        ),
      };
      console.log(`load figures: ${JSON.stringify(figures)}`);

      expect(failures.slice(0, 5), JSON.stringify(counts)).toEqual([]);
      expect(counts.ok).toBe(LOAD_SECONDS * RATE);
      expect(figures.rate).toBeGreaterThanOrEqual(RATE * 0.95);
      expect(loaded.length).toBeGreaterThanOrEqual(3);
      expect(figures.daemon_cpu_pct, JSON.stringify(figures)).toBeLessThan(80);
      expect(loadedCpu, JSON.stringify(figures)).toBeLessThan(quietCpu * 1.35);
      expect(server.exitCode).toBeNull(); // still up
    } finally {
      server.kill('SIGTERM');
    }
    expect(await exited, stderr).toBe(0);
  }, 150_000);
});
