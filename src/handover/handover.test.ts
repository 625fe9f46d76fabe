import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type LoadedConfig } from '../config/load.js';
import { fingerprint, parseRecoveryKey } from '../repository/crypto/index.js';
import { Repository } from '../repository/repository.js';
import { backupSource } from '../sources/run-source.js';
import { openStorage } from '../storage/registry.js';
import { handover } from './handover.js';

/**
 * The library entry on real local repositories: what the pack says is what
 * the repositories hold, an unreachable repository is reported and not fatal,
 * and no secret of the configuration reaches any file of the pack.
 */
const SECRETS = {
  password: 'pw-7c1e-correct-horse-battery',
  smtp: 'smtp-pw-4f2a9b',
  webhook: 'hook-token-93d1e',
  postgres: 'pg-pw-51b8c0',
  query: 'q-token-22aa',
  env: 'tag-from-env-314159',
};

describe('handover (library)', () => {
  let work: string;
  let loaded: LoadedConfig;
  const snapshots: Record<string, string> = {};
  const ids: Record<string, { id: string; fingerprint: string }> = {};
  const env = { ...process.env, DEPLOY_TAG: SECRETS.env };

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'lifeboat-handover-'));
    await mkdir(path.join(work, 'etc-app'));
    await writeFile(path.join(work, 'etc-app', 'app.yaml'), 'listen: 8080\n');
    const db = new Database(path.join(work, 'app.db'));
    db.exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES ('a');");
    db.close();
    await writeFile(path.join(work, 'repo.pass'), `${SECRETS.password}\n`, { mode: 0o600 });
    await writeFile(path.join(work, 'smtp.url'), `smtps://mailer:${SECRETS.smtp}@smtp.example.com:465\n`, {
      mode: 0o600,
    });
    const file = path.join(work, 'lifeboat.yaml');
    await writeFile(
      file,
      `version: 1
state_dir: ./state
repositories:
  local: { url: ./repo, password_file: repo.pass, media: disk, location: onsite, retention: { keep_daily: 7 } }
  usb:   { url: ./usb, password_file: repo.pass, media: usb, location: offsite }
  gone:  { url: ./no/such/repo, password_file: repo.pass }
sources:
  config: { type: files, paths: [./etc-app], rpo: 24h, rto: 1h, tags: ["\${DEPLOY_TAG}"] }
  app-db: { type: sqlite, path: app.db, rto: 4h }
  main-pg: { type: postgres, url: "postgres://backup:${SECRETS.postgres}@127.0.0.1:5432/shop" }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [config, app-db], to: local, copy_to: [usb] }
notify:
  - { type: webhook, url: "https://hooks.example.com/services/${SECRETS.webhook}?k=${SECRETS.query}", on: [failure] }
  - { type: email, smtp_url_file: smtp.url, to: [ops@example.com] }
`,
    );
    loaded = loadConfig(file, env);
    for (const name of ['local', 'usb']) {
      const repo = await Repository.init(
        await openStorage(path.join(work, name === 'local' ? 'repo' : 'usb'), { create: true }),
        Buffer.from(SECRETS.password),
      );
      try {
        ids[name] = { id: repo.id, fingerprint: fingerprint(repo.keys.master) };
        for (const source of ['config', 'app-db']) {
          const result = await backupSource(repo, source, loaded.config.sources![source]!);
          snapshots[`${source}@${name}`] = result.snapshot.id;
        }
      } finally {
        await repo.close();
      }
    }
  });
  afterAll(() => rm(work, { recursive: true, force: true }));

  const allText = async (dir: string) =>
    (await Promise.all((await readdir(dir)).map((f) => readFile(path.join(dir, f), 'utf8')))).join('\n');
  /** Which secret appears in which file (an empty list is the only good answer). */
  const leaks = async (dir: string) => {
    const found: string[] = [];
    for (const f of await readdir(dir)) {
      const text = await readFile(path.join(dir, f), 'utf8');
      for (const [what, secret] of Object.entries(SECRETS)) if (text.includes(secret)) found.push(`${what} in ${f}`);
    }
    return found;
  };

  it('describes what the repositories hold, marks the unreachable one, and holds no secret', async () => {
    const out = path.join(work, 'pack');
    const result = await handover(loaded, { out, env, cacheRoot: undefined });
    expect(result.ok).toBe(false);
    expect((await readdir(out)).sort()).toEqual([
      'RUNBOOK.html',
      'RUNBOOK.md',
      'SHA256SUMS',
      'inventory.json',
      'keys.md',
      'restore-commands.sh',
    ]);

    const inv = JSON.parse(await readFile(path.join(out, 'inventory.json'), 'utf8')) as typeof result.inventory;
    expect(inv.format).toBe(1);
    const repo = (name: string) => inv.repositories.find((r) => r.name === name)!;
    expect(repo('local')).toMatchObject({
      reachable: true,
      id: ids.local!.id,
      fingerprint: ids.local!.fingerprint,
      snapshots: { count: 2 },
    });
    expect(repo('usb')).toMatchObject({ reachable: true, id: ids.usb!.id, fingerprint: ids.usb!.fingerprint });
    expect(repo('gone').reachable).toBe(false);
    expect(repo('gone').error).toMatch(/no repository at/);
    expect(repo('local').keys).toHaveLength(1);

    const source = (name: string) => inv.sources.find((s) => s.name === name)!;
    for (const name of ['config', 'app-db']) {
      expect(source(name).copies.map((c) => [c.repository, c.snapshot.id])).toEqual([
        ['local', snapshots[`${name}@local`]],
        ['usb', snapshots[`${name}@usb`]],
      ]);
      expect(source(name).restore[0]!.command).toContain(`restore ${snapshots[`${name}@local`]} --repo local`);
    }
    expect(source('main-pg').copies).toEqual([]);
    expect(inv.warnings.join('\n')).toContain('repository "gone" is unreachable');
    expect(inv.compliance.checks.length).toBeGreaterThan(0);

    expect(await leaks(out)).toEqual([]);
    const text = await allText(out);
    expect(text).toContain('${DEPLOY_TAG}');
    expect(text).toContain('postgres://backup@127.0.0.1:5432/shop');
    expect(text).toContain('https://hooks.example.com');
    expect(text).toContain(path.join(work, 'smtp.url'));
    expect(await readFile(path.join(out, 'RUNBOOK.md'), 'utf8')).toContain('UNREACHABLE');

    const sums = await readFile(path.join(out, 'SHA256SUMS'), 'utf8');
    for (const line of sums.trim().split('\n')) {
      const [hash, name] = line.split('  ');
      expect(
        createHash('sha256')
          .update(await readFile(path.join(out, name!)))
          .digest('hex'),
        name,
      ).toBe(hash);
    }
  });

  it('with the recovery key, writes one 0600 page per reachable repository that opens it, and says the pack holds a secret', async () => {
    const out = path.join(work, 'sealed-pack');
    const result = await handover(loaded, { out, env, includeRecoveryKey: true });
    expect(result.inventory.holdsSecret).toBe(true);
    for (const name of ['local', 'usb']) {
      const file = path.join(out, `recovery-key-${name}.txt`);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      const page = parseRecoveryKey(await readFile(file, 'utf8'));
      expect(page.repositoryId).toBe(ids[name]!.id);
      expect(fingerprint(page.master)).toBe(ids[name]!.fingerprint);
    }
    expect(await readdir(out)).not.toContain('recovery-key-gone.txt');
    expect(await readFile(path.join(out, 'RUNBOOK.md'), 'utf8')).toContain('This pack holds a secret');
    expect(await readFile(path.join(out, 'SHA256SUMS'), 'utf8')).toContain('recovery-key-local.txt');
    expect(await leaks(out)).toEqual([]);
  });
});
