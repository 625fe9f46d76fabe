import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { chromium, type BrowserContext, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StatusDocument } from '../../src/daemon/api-types.js';
import { ROOT, runCli, startCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * The web dashboard as a user meets it: the built `lifeboat serve` with a
 * local repository, a SQLite and a files source backed up twice and the
 * SQLite one drilled by the CLI, driven in Debian's headless Chromium: only
 * the login without the token (a wrong one refused), the overview against
 * `lifeboat status --json`, a snapshot browsed down to a file that is
 * downloaded byte-for-byte, two snapshots compared, a restore confirmed and
 * written, the navigation and a job run with the keyboard only (focus
 * visible) followed live to its end, the charts, the drill report against
 * the stored one, no secret anywhere in the page, and a full-page screenshot
 * of every page in `.test-results/screenshots/`.
 *
 * With LIFEBOAT_DOCS_SCREENSHOTS=1 (`node scripts/dashboard-screenshots.mjs`)
 * it also writes the viewport-sized images of docs/dashboard.md and the
 * README into `docs/images/`.
 */
const PASSWORD = 'dashboard test passphrase 7f3a';
const SHOTS = path.join(ROOT, '.test-results', 'screenshots');
const DOCS_IMAGES = process.env.LIFEBOAT_DOCS_SCREENSHOTS === '1' ? path.join(ROOT, 'docs', 'images') : undefined;

/** "1d 2h", "3.2s", "12m 5s", "350 ms" (the dashboard's durations, as the CLI writes them) → seconds. */
function seconds(text: string): number {
  const unit: Record<string, number> = { d: 86_400, h: 3600, m: 60, s: 1, ms: 0.001 };
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?) ?(ms|d|h|m|s)\b/g)];
  expect(parts.length, `a duration in "${text}"`).toBeGreaterThan(0);
  return parts.reduce((sum, m) => sum + Number(m[1]) * unit[m[2]!]!, 0);
}

/** "303.7 KiB" → [bytes, the largest rounding error of that text]. */
function sized(text: string): [number, number] {
  const m = /^(\d+(?:\.(\d+))?) (B|KiB|MiB|GiB|TiB)$/.exec(text.trim());
  expect(m, `a size: "${text}"`).not.toBeNull();
  const unit = 1024 ** ['B', 'KiB', 'MiB', 'GiB', 'TiB'].indexOf(m![3]!);
  return [Number(m![1]) * unit, (0.5 * unit) / 10 ** (m![2]?.length ?? 0)];
}

describe('web dashboard (built daemon, headless Chromium)', () => {
  let dir: string;
  let config: string;
  let cleanup: () => Promise<void>;
  let child: ChildProcess;
  let url: string;
  let token: string;
  let browser: BrowserContext;
  let page: Page;
  let drill: {
    verdict: string;
    snapshot: { id: string };
    checks: Array<{ name: string; ok: boolean; expected: unknown; actual: unknown }>;
    rto: { measuredSeconds: number; targetSeconds: number; ok: boolean };
    rpo: { measuredSeconds: number | null; targetSeconds: number; ok: boolean | null; basis: string };
    smoke: { command: string; ok: boolean };
  };
  const report = randomBytes(300_000);
  const env = () => cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined });
  const html: string[] = [];
  const keep = async () => void html.push(await page.content());
  /** A full-page screenshot as a test artifact; with LIFEBOAT_DOCS_SCREENSHOTS=1 and `docs`, also the viewport into docs/images/. */
  const shot = async (name: string, docs = false) => {
    await page.evaluate('document.activeElement && document.activeElement.blur && document.activeElement.blur()');
    await page.mouse.move(0, 0);
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
    if (docs && DOCS_IMAGES) {
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: path.join(DOCS_IMAGES, `${name}.png`) });
    }
  };
  const atWidth = async (width: number, height: number, fn: () => Promise<void>) => {
    await page.setViewportSize({ width, height });
    try {
      await fn();
    } finally {
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-web-'));
    mkdirSync(SHOTS, { recursive: true });
    if (DOCS_IMAGES) mkdirSync(DOCS_IMAGES, { recursive: true });
    mkdirSync(path.join(dir, 'data', 'docs'), { recursive: true });
    mkdirSync(path.join(dir, 'spare'));
    writeFileSync(path.join(dir, 'data', 'docs', 'report.bin'), report);
    writeFileSync(path.join(dir, 'data', 'notes.txt'), 'first version\n');
    const db = new Database(path.join(dir, 'app.db'));
    db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT)');
    db.prepare('INSERT INTO items (name) VALUES (?)').run('one');
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
  app-db: { type: sqlite, path: ./app.db, rpo: 1d, rto: 10m, smoke: 'test -s "$LIFEBOAT_DRILL_FILE"' }
  files:  { type: files, paths: [./data], rpo: 12h }
  spare:  { type: files, paths: [./spare], rpo: 1h }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [app-db, files], to: local }
server: { listen: "127.0.0.1:0" }
`,
    );
    const cli = async (...args: string[]) => {
      const r = await runCli(['--config', config, ...args], { env: env() });
      expect(r.code, r.stderr).toBe(0);
    };
    await cli('init', '--repo', 'local');
    await cli('run', 'nightly');
    writeFileSync(path.join(dir, 'data', 'notes.txt'), 'second version, longer\n');
    writeFileSync(path.join(dir, 'data', 'added.txt'), 'new file\n');
    await cli('run', 'nightly');
    await cli('drill', '--source', 'app-db');
    const drills = path.join(dir, 'state', 'drills');
    const json = readdirSync(drills).filter((f) => /^drill-app-db-.*\.json$/.test(f));
    expect(json).toHaveLength(1);
    drill = JSON.parse(readFileSync(path.join(drills, json[0]!), 'utf8')) as typeof drill;
    expect(drill.verdict).toBe('PASS');

    child = startCli(['--config', config, 'serve'], { env: env() });
    let stderr = '';
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no listening line:\n${stderr}`)), 20_000);
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
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1280, height: 900 },
      acceptDownloads: true,
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

  it('shows only the login without a token; the API refuses and a wrong token is rejected', async () => {
    await page.goto(`${url}/#/snapshots`);
    await page.getByLabel('API token').waitFor();
    await shot('login-1280');
    expect(await page.locator('nav[aria-label="Main"]').count()).toBe(0);
    expect(await page.locator('table').count()).toBe(0);
    const status = await page.evaluate(async () =>
      Promise.all(
        ['/api/v1/snapshots', '/api/v1/sources', '/api/v1/system/backup/status', '/metrics'].map(
          async (p) => (await fetch(p)).status,
        ),
      ),
    );
    expect(status).toEqual([401, 401, 401, 401]);
    await page.getByLabel('API token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByText('That token was not accepted.').waitFor();
    expect(await page.locator('nav[aria-label="Main"]').count()).toBe(0);
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
  });

  it('logs in and shows in the overview what `lifeboat status --json` says, per source and per repository', async () => {
    await page.goto(`${url}/`);
    await page.getByLabel('API token').fill(token);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    await page.locator('tr[data-source="files"]').waitFor();

    // the CLI's document first, then a fresh overview: every age the page shows is at most this much newer
    const asked = Date.now();
    const r = await runCli(['--config', config, 'status', '--json'], { env: env() });
    const doc = JSON.parse(r.stdout) as StatusDocument;
    await page.reload();
    const card = page.locator('[data-repository="local"]');
    await card.getByText('connected').waitFor();
    // the drill run by the CLI is the source's last drill
    await page
      .locator('tr[data-source="app-db"] td[data-label="Last drill"] .badge')
      .getByText('ok', { exact: true })
      .waitFor();
    expect(await page.locator('tr[data-source="files"] td[data-label="Last drill"]').innerText()).toBe('no drill');
    const slack = (Date.now() - asked) / 1000 + 1;
    const localTime = (iso: string) =>
      page.evaluate(
        `new Date(${JSON.stringify(iso)}).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })`,
      );
    const shownTime = async (scope: Locator, iso: string) => {
      const when = scope.locator('time');
      expect(await when.getAttribute('datetime')).toBe(iso);
      expect(await when.innerText()).toBe(await localTime(iso));
    };

    expect(Object.keys(doc.sources).sort()).toEqual(['app-db', 'files', 'spare']);
    expect(await page.locator('tr[data-source]').count()).toBe(3);
    for (const [name, st] of Object.entries(doc.sources)) {
      const row = page.locator(`tr[data-source="${name}"]`);
      const last = row.locator('td[data-label="Last good backup"]');
      const [badge, ageRpo] = await row
        .locator('td[data-label="Data age / RPO"]')
        .locator('.badge, .muted')
        .allInnerTexts();
      const [age, rpo] = ageRpo!.split(' / ');
      expect(seconds(rpo!), name).toBe(st.rpo_seconds);
      if (st.last_success === null) {
        expect(await last.innerText()).toBe('never');
        expect([badge, age]).toEqual(['no backup', '—']);
      } else {
        await shownTime(last, st.last_success);
        expect(
          Math.abs(seconds(age!) - st.age_seconds!),
          `${name}: ${age} against ${st.age_seconds} s`,
        ).toBeLessThanOrEqual(slack);
      }
      expect(
        st.ok ? ['within RPO', 'near RPO'] : ['over RPO', 'no backup'],
        `${name} is ${st.ok ? '' : 'not '}ok`,
      ).toContain(badge);
    }
    expect(doc.sources.spare!.ok).toBe(false);
    expect(doc.sources['app-db']!.ok).toBe(true);

    const fact = (label: string) =>
      page
        .locator('.facts > div')
        .filter({ has: page.getByText(label, { exact: true }) })
        .locator('dd');
    await shownTime(fact('Last backup'), doc.last_backup!.timestamp);
    expect(await fact('Last backup').innerText()).toMatch(
      new RegExp(`· ${doc.last_backup!.type} ${doc.last_backup!.status}$`),
    );
    await shownTime(fact('Next backup'), doc.next_backup!.timestamp);
    if (doc.last_verification) await shownTime(fact('Last verification'), doc.last_verification.timestamp);
    else expect(await fact('Last verification').innerText()).toBe('none yet');
    expect(await fact('Active alerts').innerText()).toBe(doc.alerts.length ? `${doc.alerts.length} active` : 'none');

    expect(Object.keys(doc.storage)).toEqual(['local']);
    expect(await page.locator('[data-repository]').count()).toBe(1);
    const space = doc.storage.local!;
    expect(space.connected).toBe(true);
    expect(await card.locator('.badge').first().innerText()).toBe('connected');
    const [used, free] = (await card.locator('p strong').allInnerTexts()).map(sized);
    expect(Math.abs(used![0] - space.used_bytes!)).toBeLessThanOrEqual(used![1]);
    // free space on the medium moves with everything else on the machine: within rounding and 1 %
    expect(Math.abs(free![0] - space.available_bytes!)).toBeLessThanOrEqual(free![1] + space.available_bytes! / 100);

    expect(await page.locator('tr[data-source="files"]').innerText()).toContain('nightly');
    expect(await card.innerText()).toMatch(/files · 2 snapshots/);
    // 3-2-1-1-0 per source held: one repository on one disk, nothing immutable; app-db was drilled from it (0 errors), files never read back.
    const fails = (source: string) =>
      card
        .locator('li')
        .filter({ hasText: `${source} ·` })
        .locator('[data-compliance-fails]');
    expect(await fails('app-db').innerText()).toBe('3-2-1-1-0: 3 copies, 2 media, 1 offsite, 1 immutable or offline');
    expect(await fails('files').innerText()).toBe(
      '3-2-1-1-0: 3 copies, 2 media, 1 offsite, 1 immutable or offline, 0 errors',
    );
    expect(await fails('files').getAttribute('title')).toContain(
      'local: never verified (no verify step or drill of this source recorded)',
    );
    expect(await page.evaluate('document.body.innerHTML')).not.toContain(token);
    await keep();
    await shot('overview-1280', true);
    await atWidth(390, 844, () => shot('overview-390', true));
  });

  it('browses a snapshot to a file, downloads it byte for byte, and compares with the previous snapshot', async () => {
    await page.goto(`${url}/#/snapshots`);
    await page.getByLabel('Source').selectOption('files');
    await page.getByRole('button', { name: 'Filter' }).click();
    await expect.poll(() => page.locator('table.snapshots tbody tr').count()).toBe(2);
    await shot('snapshots-1280');
    await page.locator('table.snapshots tbody tr').first().getByRole('link').click();
    await page.getByText('Recorded by the source').waitFor();
    for (const part of path.join(dir, 'data', 'docs').split('/').filter(Boolean))
      await page
        .locator('.tree tbody')
        .getByRole('button', { name: `${part}/`, exact: true })
        .click();
    const downloading = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Download report.bin' }).click();
    const file = await downloading;
    expect(file.suggestedFilename()).toBe('report.bin');
    expect(Buffer.compare(readFileSync((await file.path())!), report)).toBe(0);
    await page.getByText(/Downloaded .*report\.bin/).waitFor();

    await page.getByRole('button', { name: 'Compare' }).click();
    const diff = page.locator('table.diff');
    await diff.waitFor();
    const text = await diff.innerText();
    expect(text).toMatch(/added\s+\S*data\/added\.txt/);
    expect(text).toMatch(/modified\s+\S*data\/notes\.txt/);
    expect(text).not.toContain('report.bin');
    await keep();
    await shot('snapshot-1280', true);
  });

  it('restores after a confirmation that names what is written where', async () => {
    const target = path.join(dir, 'restored');
    await page.getByLabel('Path in the snapshot').fill(path.join(dir, 'data', 'docs'));
    await page.getByLabel(/Into directory on the server/).fill(target);
    await page.getByRole('button', { name: 'Review restore…' }).click();
    const confirm = page.getByRole('alertdialog');
    await confirm.waitFor();
    const said = await confirm.innerText();
    expect(said).toContain(`${dir}/data/docs`);
    expect(said).toContain(`into ${target} on the server: 1 file`);
    expect(said).toContain('293.0 KiB');
    await confirm.getByRole('button', { name: `Restore 1 file into ${target}` }).click();
    await page.getByRole('status').filter({ hasText: 'Restore ok' }).waitFor();
    expect(Buffer.compare(readFileSync(path.join(target, dir, 'data', 'docs', 'report.bin')), report)).toBe(0);
    await page.getByRole('button', { name: 'Review restore…' }).click();
    await page.getByText(/is not empty; restore into a new or empty directory/).waitFor();
  });

  it('reaches the navigation and runs a job with the keyboard only, focus always visible, and follows the run live to the end', async () => {
    // a fresh load: the keyboard starts at the top of the document
    await page.goto(`${url}/#/`);
    await page.reload();
    await page.getByRole('heading', { name: 'Overview' }).waitFor();
    const focused = () =>
      page.evaluate(`(() => {
        const e = document.activeElement;
        const css = getComputedStyle(e);
        return { tag: e.tagName, name: (e.getAttribute('aria-label') || e.textContent || '').trim(), ring: e.matches(':focus-visible') && css.outlineStyle !== 'none' && parseFloat(css.outlineWidth) >= 2 };
      })()`) as Promise<{ tag: string; name: string; ring: boolean }>;
    const tabTo = async (name: string) => {
      const seen: string[] = [];
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press('Tab');
        const f = await focused();
        seen.push(f.name);
        expect(f.ring, `a visible focus ring on ${f.tag} "${f.name}"`).toBe(true);
        if (f.name === name) return seen;
      }
      throw new Error(`Tab never reached "${name}": ${seen.join(' → ')}`);
    };
    expect(await tabTo('Jobs')).toEqual(['Skip to content', 'Overview', 'Snapshots', 'Jobs']);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor();
    expect(new URL(page.url()).hash).toBe('#/jobs');
    expect(await page.locator('nav[aria-label="Main"] a[aria-current="page"]').innerText()).toBe('Jobs');
    await page.getByText('Connected to the event stream.').waitFor();
    const path_ = await tabTo('Run nightly now');
    expect(path_.slice(0, 4)).toEqual(['Charts', 'Drills', 'Alerts', 'Log out']);
    await page.keyboard.press('Enter');
    await page.getByText(/^Started nightly \(run \S+\)\.$/).waitFor();

    const live = page.locator('.live li').first();
    await live.and(page.locator(':not([data-state="running"])')).waitFor({ timeout: 30_000 });
    expect(await live.getAttribute('data-state'), await live.innerText()).toBe('ok');
    expect(await live.locator('.progress').innerText()).toMatch(
      /backup files: [1-9]\d* files, [\d.]+ KiB read, .* new, .*\/s/,
    );
    await expect.poll(() => page.locator('table.runs tbody tr').count()).toBe(3);
    expect(await page.locator('table.runs tbody tr').first().innerText()).toMatch(/ok[\s\S]*backup:app-db/);
    await keep();
    await shot('jobs-1280', true);
    await atWidth(390, 844, () => shot('jobs-390'));
  });

  it('draws the charts of a source', async () => {
    await page.goto(`${url}/#/charts`);
    await expect.poll(() => page.locator('.chart canvas').count()).toBe(3);
    await page.locator('.chart').first().getByText('added').first().waitFor();
    // canvas pixels with any ink: the series were drawn, not just the axes' frame
    const drawn = await page
      .locator('.chart canvas')
      .first()
      .evaluate((el: unknown) => {
        const c = el as {
          width: number;
          height: number;
          getContext: (kind: '2d') => {
            getImageData: (x: number, y: number, w: number, h: number) => { data: Uint8ClampedArray };
          };
        };
        const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let ink = 0;
        for (let i = 3; i < px.length; i += 4) if (px[i]! > 0) ink++;
        return ink;
      });
    expect(drawn).toBeGreaterThan(500);
    await keep();
    await shot('charts-1280', true);
    await atWidth(390, 844, () => shot('charts-390'));
  });

  it('lists the stored drill report and opens it: verdict, every check, RTO and RPO against their targets, the smoke test', async () => {
    await page.goto(`${url}/#/drills`);
    const rows = page.locator('table tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    const cells = await rows.first().locator('td').allInnerTexts();
    expect(cells.slice(1, 3)).toEqual(['app-db', drill.verdict]);
    expect(cells[3]).toMatch(/target 10m met$/);
    // SQLite has no recent_data: the snapshot's RPO is shown as not measured, against its target
    expect(cells[4]).toMatch(/^— \/ target 1d$/);
    expect(cells[5]).toBe(`${drill.snapshot.id.slice(0, 8)} local`);
    await keep();
    await shot('drills-1280');

    await rows.first().getByRole('link').click();
    await page.getByRole('heading', { name: 'Drill report' }).waitFor();
    const main = page.locator('main');
    await main
      .getByText(/^PASS$/)
      .first()
      .waitFor();
    expect(await main.locator('p').nth(1).innerText()).toMatch(
      new RegExp(`^${drill.verdict} app-db \\(sqlite\\) from local, snapshot ${drill.snapshot.id.slice(0, 8)} of .+`),
    );
    const fact = (label: string) =>
      page
        .locator('.facts > div')
        .filter({ has: page.getByText(label, { exact: true }) })
        .locator('dd');
    expect(drill.rpo).toMatchObject({ measuredSeconds: null, ok: null });
    expect(await fact('RPO of the snapshot').innerText()).toBe(`— / target 1d ${drill.rpo.basis}`);
    expect(await fact('Newest backup at drill time').innerText()).toMatch(
      / old \/ RPO 1d fresh \(not part of the verdict\)$/,
    );
    for (const [label, o] of [['RTO', drill.rto]] as const) {
      const text = await fact(label).innerText();
      expect(text, label).toMatch(/ \/ target .+ met$/);
      const [measured, target] = text.replace(/ met$/, '').split(' / target ');
      expect(seconds(target!), label).toBe(o.targetSeconds);
      expect(
        Math.abs(seconds(measured!) - o.measuredSeconds),
        `${label} ${measured} against ${o.measuredSeconds} s`,
      ).toBeLessThanOrEqual(Math.max(0.06, o.measuredSeconds * 0.01));
      expect(o.ok).toBe(true);
    }
    const checks = page.locator('table.checks tbody tr');
    expect(await checks.count()).toBe(drill.checks.length);
    expect(drill.checks.map((c) => c.name)).toEqual(['restore', 'integrity', 'tables', 'schemaHash']);
    const value = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));
    for (const [i, c] of drill.checks.entries())
      expect(await checks.nth(i).locator('th, td').allInnerTexts()).toEqual([
        c.ok ? 'pass' : 'fail',
        c.name,
        value(c.expected),
        value(c.actual),
      ]);
    const smoke = await page.locator('h2:text-is("Smoke test") + p').innerText();
    expect(smoke).toContain(`passed ${drill.smoke.command} · exit 0`);
    expect(await page.locator('pre.record').count()).toBe(0);
    await page.getByText('It printed nothing.').waitFor();
    await keep();
    await shot('drill-report-1280', true);
  });

  it('renders no secret, and logging out leaves only the login', async () => {
    await page.goto(`${url}/#/alerts`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await expect.poll(() => page.getByText('Loading…').count()).toBe(0);
    await keep();
    await shot('alerts-1280');
    for (const h of html) {
      expect(h).not.toContain(token);
      expect(h).not.toContain(PASSWORD);
      expect(h).not.toContain(path.join(dir, 'repo.pass'));
    }
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByLabel('API token').waitFor();
    expect(await page.evaluate('sessionStorage.length')).toBe(0);
    await page.goto(`${url}/#/jobs`);
    await page.getByLabel('API token').waitFor();
    expect(await page.locator('table').count()).toBe(0);
  });
});
