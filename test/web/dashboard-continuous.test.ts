import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../../src/daemon/api-types.js';
import { runCli, startCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * The dashboard's view of a continuous source, against the real daemon: the
 * built `lifeboat serve` replicates a SQLite database in WAL mode while a
 * transaction is committed, and headless Chromium shows the source's
 * replication lag against its limit and the newest shipped transaction as
 * the status API says them.
 */
const PASSWORD = 'continuous dashboard passphrase 91c2';

describe('web dashboard: continuous source (built daemon, headless Chromium)', () => {
  let dir: string;
  let config: string;
  let cleanup: () => Promise<void>;
  let child: ChildProcess;
  let url: string;
  let token: string;
  let browser: BrowserContext;
  let page: Page;
  let stderr = '';
  const env = () => cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined });

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-web-continuous-'));
    const db = new Database(path.join(dir, 'live.db'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    writeFileSync(path.join(dir, 'repo.pass'), `${PASSWORD}\n`, { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  live-db: { type: sqlite, path: ./live.db, rpo: 5m, continuous: { interval: 1s } }
server: { listen: "127.0.0.1:0" }
`,
    );
    const init = await runCli(['--config', config, 'init', '--repo', 'local'], { env: env() });
    expect(init.code, init.stderr).toBe(0);
    child = startCli(['--config', config, 'serve'], { env: env() });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 30_000);
      child.stderr!.on('data', () => {
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
    });
    token = readFileSync(path.join(dir, 'state', 'api.token'), 'utf8').trim();
    browser = await chromium.launchPersistentContext(mkdtempSync(path.join(os.tmpdir(), 'lifeboat-chromium-')), {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      viewport: { width: 1280, height: 900 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
  });

  afterAll(async () => {
    await browser?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await cleanup?.();
  });

  async function status(): Promise<StatusDocument> {
    const r = await runCli(['--config', config, 'status', '--json'], { env: env() });
    return JSON.parse(r.stdout) as StatusDocument;
  }

  it('shows the replication lag against its limit and the newest shipped transaction of the status API', async () => {
    // A transaction committed after the replicator started: the newest shipped one must reach past it.
    const committed = Date.now();
    const db = new Database(path.join(dir, 'live.db'));
    db.prepare('INSERT INTO items (name) VALUES (?)').run('after start');
    db.close();
    // Generous: the machine running the suite is shared; shipping takes about one interval.
    let doc = await status();
    for (let i = 0; i < 120; i++) {
      const shipped = doc.sources['live-db']?.continuous?.last_shipped_transaction;
      if (shipped && Date.parse(shipped) >= committed && doc.sources['live-db']!.continuous!.running) break;
      await new Promise((r) => setTimeout(r, 500));
      doc = await status();
    }
    const view = doc.sources['live-db']!.continuous!;
    expect(view, stderr).toMatchObject({ running: true, ok: true, limit_seconds: 300 });
    expect(Date.parse(view.last_shipped_transaction!)).toBeGreaterThanOrEqual(committed);

    await page.goto(`${url}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    const cell = page.locator('tr[data-source="live-db"] [data-continuous]');
    await cell.waitFor();
    expect(await cell.locator('.badge').innerText()).toBe('streaming');
    expect(await cell.locator('.badge').getAttribute('class')).toContain('ok');
    // The page asks the API itself a moment later: the same newest shipped transaction (nothing was committed since).
    expect(await cell.locator('[data-last-shipped] time').getAttribute('datetime')).toBe(view.last_shipped_transaction);
    expect(await cell.innerText()).toMatch(/lag .+ \/ 5m; newest shipped transaction/);
  });
});
