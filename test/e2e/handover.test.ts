import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, fileHashes, restoredPath } from '../helpers/e2e.js';
import { startS3Server, type S3Server } from '../helpers/servers/s3.js';

/**
 * `lifeboat handover` through the built CLI, on a system with snapshots and
 * drills: the pack's files and checksums, its facts against what the
 * repositories hold, its restore script actually restoring the files, sealed
 * and SQLite sources, no secret anywhere, a used directory refused, and an
 * unreachable repository reported with exit 1.
 */
const SECRETS = {
  password: 'repo-pw-b71f-correct-horse',
  s3: 's3-secret-key-0c9d2e',
  webhook: 'hook-token-5a6b7c',
  smtp: 'smtp-pw-e3f4a5',
  postgres: 'pg-pw-9e8d7c',
};

describe('lifeboat handover', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let identityFile: string;
  let recipient: string;
  const app = () => path.join(dir, 'app');
  const sealed = () => path.join(dir, 'sealed');
  const env = (extra: Record<string, string | undefined> = {}) =>
    cliEnvFor(path.join(dir, 'cache'), undefined, { LIFEBOAT_STATE_DIR: undefined, ...extra });
  const lb = (args: string[], cfg = config): Promise<CliResult> => runCli(['--config', cfg, ...args], { env: env() });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`;

  /** Which secret appears in which file of a directory, or in extra texts (empty is the only good answer). */
  const leaks = (packDir: string, extra: Record<string, string> = {}) => {
    const texts: Record<string, string> = { ...extra };
    for (const f of readdirSync(packDir)) texts[f] = readFileSync(path.join(packDir, f), 'utf8');
    return Object.entries(texts).flatMap(([name, text]) =>
      Object.entries(SECRETS)
        .filter(([, s]) => text.includes(s))
        .map(([what]) => `${what} in ${name}`),
    );
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-handover-'));
    mkdirSync(path.join(app(), 'conf.d'), { recursive: true });
    writeFileSync(path.join(app(), 'app.yaml'), 'listen: 8080\n');
    for (let i = 0; i < 5; i++) writeFileSync(path.join(app(), 'conf.d', `${i}.yaml`), `item: ${i}\n`.repeat(i + 1));
    mkdirSync(sealed());
    writeFileSync(path.join(sealed(), 'api.key'), 'api key of the app\n', { mode: 0o600 });
    const db = new Database(path.join(dir, 'app.db'));
    db.exec(
      "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('one'), ('two'), ('three');",
    );
    db.close();
    const identity = await generateIdentity();
    recipient = await identityToRecipient(identity);
    identityFile = path.join(dir, 'offline-identity.txt');
    writeFileSync(identityFile, `${identity}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'repo.pass'), `${SECRETS.password}\n`, { mode: 0o600 });
    writeFileSync(path.join(dir, 'smtp.url'), `smtps://mailer:${SECRETS.smtp}@smtp.example.com:465\n`, { mode: 0o600 });
    // A `lifeboat` on PATH for restore-commands.sh: the built CLI.
    mkdirSync(path.join(dir, 'bin'));
    writeFileSync(
      path.join(dir, 'bin', 'lifeboat'),
      `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`,
    );
    chmodSync(path.join(dir, 'bin', 'lifeboat'), 0o755);
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
state_dir: ./state
repositories:
  local:   { url: ./repo, password_file: repo.pass, media: disk, location: onsite, retention: { keep_daily: 7 } }
  offsite: { url: ./offsite, password_file: repo.pass, media: usb, location: offsite }
sources:
  config:  { type: files, paths: [${app()}], rpo: 24h, rto: 1h }
  secrets: { type: files, paths: [${sealed()}], seal_to: [${recipient}] }
  app-db:  { type: sqlite, path: app.db, rpo: 24h, rto: 4h }
  main-pg: { type: postgres, url: "postgres://backup:${SECRETS.postgres}@127.0.0.1:5432/shop" }
jobs:
  nightly: { schedule: "0 3 * * *", sources: [config, secrets, app-db], to: local, copy_to: [offsite] }
notify:
  - { type: webhook, url: "https://hooks.example.com/services/${SECRETS.webhook}", on: [failure] }
  - { type: email, smtp_url_file: smtp.url, to: [ops@example.com] }
`,
    );
    for (const repo of ['local', 'offsite']) {
      const init = await lb(['init', '--repo', repo]);
      expect(init.code, show(init)).toBe(0);
    }
    const run = await lb(['run', 'nightly']);
    expect(run.code, show(run)).toBe(0);
    const drill = await lb(['--repo', 'local', 'drill', '--source', 'config,secrets,app-db']);
    expect(drill.code, show(drill)).toBe(0);
  });
  afterAll(() => cleanup?.());

  const pack = () => path.join(dir, 'pack');
  const FILES = ['RUNBOOK.html', 'RUNBOOK.md', 'SHA256SUMS', 'inventory.json', 'keys.md', 'restore-commands.sh'];

  it("writes the pack: every file, intact checksums, the repositories' snapshot ids and drills, no secret", async () => {
    const r = await lb(['--json', 'handover', '--out', pack()]);
    expect(r.code, show(r)).toBe(0);
    expect(readdirSync(pack()).sort()).toEqual(FILES);
    const summary = JSON.parse(r.stdout) as {
      type: string;
      ok: boolean;
      holdsSecret: boolean;
      files: Array<{ name: string }>;
      repositories: Array<{ name: string; reachable: boolean }>;
    };
    expect(summary).toMatchObject({ type: 'handover', ok: true, holdsSecret: false });
    expect(summary.files.map((f) => f.name).sort()).toEqual(FILES);
    expect(summary.repositories.map((x) => [x.name, x.reachable])).toEqual([
      ['local', true],
      ['offsite', true],
    ]);

    const sums = spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: pack(), encoding: 'utf8' });
    expect(sums.status, sums.stdout + sums.stderr).toBe(0);
    expect(sums.stdout.trim().split('\n')).toHaveLength(FILES.length - 1);

    const inventory = JSON.parse(readFileSync(path.join(pack(), 'inventory.json'), 'utf8')) as {
      format: number;
      repositories: Array<{ name: string; id: string; fingerprint: string }>;
      sources: Array<{
        name: string;
        copies: Array<{ repository: string; snapshot: { id: string } }>;
        lastDrill: { verdict: string; origin: string; rto: { measuredSeconds: number } } | null;
        sealedTo?: string[];
      }>;
    };
    expect(inventory.format).toBe(1);
    for (const repo of ['local', 'offsite']) {
      const listed = await lb(['--repo', repo, '--json', 'snapshots']);
      const snaps = (JSON.parse(listed.stdout) as { snapshots: Array<{ id: string; source: string; time: string }> })
        .snapshots;
      for (const source of ['config', 'secrets', 'app-db']) {
        const newest = snaps
          .filter((s) => s.source === source)
          .sort((a, b) => (a.time < b.time ? -1 : 1))
          .at(-1)!;
        const copy = inventory.sources.find((s) => s.name === source)!.copies.find((c) => c.repository === repo);
        expect(copy?.snapshot.id, `${source} in ${repo}`).toBe(newest.id);
      }
      const keys = JSON.parse((await lb(['--repo', repo, '--json', 'key', 'list'])).stdout) as { fingerprint: string };
      expect(inventory.repositories.find((x) => x.name === repo)!.fingerprint).toBe(keys.fingerprint);
    }
    const files = inventory.sources.find((s) => s.name === 'config')!;
    expect(files.lastDrill).toMatchObject({ verdict: 'PASS', origin: 'repository' });
    expect(files.lastDrill!.rto.measuredSeconds).toBeGreaterThanOrEqual(0);
    expect(inventory.sources.find((s) => s.name === 'secrets')!.sealedTo).toEqual([recipient]);
    expect(inventory.sources.find((s) => s.name === 'main-pg')!.copies).toEqual([]);

    expect(leaks(pack(), { stdout: r.stdout, stderr: r.stderr })).toEqual([]);
    const html = readFileSync(path.join(pack(), 'RUNBOOK.html'), 'utf8');
    expect(html).not.toMatch(/<script|<link|src=|href=/i);
    const runbook = readFileSync(path.join(pack(), 'RUNBOOK.md'), 'utf8');
    expect(runbook).toContain(recipient);
    expect(runbook).toContain(path.join(dir, 'repo.pass'));
    expect(runbook).toContain('postgres://backup@127.0.0.1:5432/shop');
  });

  it('restore-commands.sh runs nothing without an argument, and its commands restore the files, sealed and SQLite sources', () => {
    const script = path.join(pack(), 'restore-commands.sh');
    const restoreRoot = path.join(dir, 'restored');
    const sh = (args: string[], extra: Record<string, string> = {}) =>
      spawnSync('/bin/sh', [script, ...args], {
        env: { ...env(), PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, RESTORE_ROOT: restoreRoot, ...extra },
        encoding: 'utf8',
        timeout: 120_000,
      });

    const idle = sh([]);
    expect(idle.status).toBe(2);
    expect(idle.stderr).toContain('usage: sh restore-commands.sh SOURCE [REPOSITORY]');
    expect(existsSync(restoreRoot)).toBe(false);

    // The script's commands are the runbook's, character for character.
    const commands = readFileSync(script, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('  lifeboat restore '))
      .map((l) => l.trim());
    expect(commands).toHaveLength(6);
    const runbook = readFileSync(path.join(pack(), 'RUNBOOK.md'), 'utf8');
    for (const c of commands) expect(runbook).toContain(c);

    const files = sh(['config']);
    expect(files.status, files.stdout + files.stderr).toBe(0);
    expect(fileHashes(restoredPath(path.join(restoreRoot, 'config'), app()))).toEqual(fileHashes(app()));

    const refused = sh(['secrets']);
    expect(refused.status).not.toBe(0);
    expect(existsSync(path.join(restoreRoot, 'secrets'))).toBe(false);
    const secrets = sh(['secrets', 'offsite'], { AGE_IDENTITY: identityFile });
    expect(secrets.status, secrets.stdout + secrets.stderr).toBe(0);
    expect(readFileSync(path.join(restoredPath(path.join(restoreRoot, 'secrets'), sealed()), 'api.key'), 'utf8')).toBe(
      'api key of the app\n',
    );

    const sqlite = sh(['app-db', 'offsite']);
    expect(sqlite.status, sqlite.stdout + sqlite.stderr).toBe(0);
    const restored = new Database(path.join(restoreRoot, 'app-db', 'app.db'), { readonly: true });
    try {
      expect(restored.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(restored.prepare('SELECT body FROM notes ORDER BY id').all()).toEqual([
        { body: 'one' },
        { body: 'two' },
        { body: 'three' },
      ]);
    } finally {
      restored.close();
    }
    // Run again, it refuses to overwrite what it restored (no --force anywhere).
    expect(sh(['app-db', 'offsite']).status).toBe(1);
  });

  it('refuses a non-empty --out with exit 2 and a hint; --force replaces an earlier pack', async () => {
    const before = readFileSync(path.join(pack(), 'SHA256SUMS'), 'utf8');
    const refused = await lb(['handover', '--out', pack()]);
    expect(refused.code, show(refused)).toBe(2);
    expect(refused.stderr).toContain('is not empty');
    expect(refused.stderr).toContain('--force');
    expect(readFileSync(path.join(pack(), 'SHA256SUMS'), 'utf8')).toBe(before);

    const missing = await lb(['handover']);
    expect(missing.code).toBe(2);

    const forced = await lb(['handover', '--out', pack(), '--force']);
    expect(forced.code, show(forced)).toBe(0);
    expect(forced.stdout).toContain('print RUNBOOK.html');
    expect(readdirSync(pack()).sort()).toEqual(FILES);
  });

  describe('with an unreachable repository', () => {
    let s3: S3Server;
    beforeAll(async () => {
      s3 = await startS3Server();
    }, 30_000);
    afterAll(() => s3?.stop());

    it('writes the pack anyway, marks the repositories unreachable with their errors, and exits 1', async () => {
      const credentials = path.join(dir, 's3.env');
      writeFileSync(credentials, `AWS_ACCESS_KEY_ID=S3RVER\nAWS_SECRET_ACCESS_KEY=${SECRETS.s3}\n`, { mode: 0o600 });
      const broken = path.join(dir, 'broken.yaml');
      writeFileSync(
        broken,
        readFileSync(config, 'utf8').replace(
          'sources:\n',
          `  gone:    { url: ./no/such/repo, password_file: repo.pass }\n  cloud:   { url: "s3://no-such-bucket/site-1", endpoint: "${s3.endpoint}", region: us-east-1, path_style: true, credentials_file: s3.env, password_file: repo.pass, media: object, location: offsite }\nsources:\n`,
        ),
      );
      const out = path.join(dir, 'pack-unreachable');
      const r = await lb(['--json', 'handover', '--out', out], broken);
      expect(r.code, show(r)).toBe(1);
      expect(readdirSync(out).sort()).toEqual(FILES);
      const summary = JSON.parse(r.stdout) as {
        ok: boolean;
        repositories: Array<{ name: string; reachable: boolean; error?: string }>;
      };
      expect(summary.ok).toBe(false);
      const byName = Object.fromEntries(summary.repositories.map((x) => [x.name, x]));
      expect(byName.local!.reachable).toBe(true);
      expect(byName.gone).toMatchObject({ reachable: false });
      expect(byName.gone!.error).toMatch(/no repository at .*no\/such\/repo/);
      expect(byName.cloud!.reachable).toBe(false);

      const inventory = JSON.parse(readFileSync(path.join(out, 'inventory.json'), 'utf8')) as {
        repositories: Array<{ name: string; reachable: boolean; error?: string; access: Record<string, unknown> }>;
      };
      const gone = inventory.repositories.find((x) => x.name === 'gone')!;
      expect(gone.reachable).toBe(false);
      expect(gone.error).toBe(byName.gone!.error);
      expect(inventory.repositories.find((x) => x.name === 'cloud')!.access).toMatchObject({
        endpoint: s3.endpoint,
        credentials_file: credentials,
      });
      const runbook = readFileSync(path.join(out, 'RUNBOOK.md'), 'utf8');
      expect(runbook.match(/\*\*UNREACHABLE\*\* when this pack was made/g)!.length).toBeGreaterThanOrEqual(2);
      expect(readFileSync(path.join(out, 'keys.md'), 'utf8')).toContain('Unreachable when this pack was made');
      expect(spawnSync('sha256sum', ['-c', 'SHA256SUMS'], { cwd: out }).status).toBe(0);
      expect(leaks(out, { stdout: r.stdout, stderr: r.stderr })).toEqual([]);
    });
  });
});
