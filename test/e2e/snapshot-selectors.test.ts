import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, jsonLines, runCliBinary } from '../helpers/e2e.js';
import { openRepo } from '../helpers/repo-lib.js';

/**
 * `latest` follows --source, --host and the path asked for, on every command
 * that takes a snapshot; `find` searches across snapshots; a snapshot dated in
 * the future is not taken as `latest` silently; file names with control
 * characters never reach the terminal raw.
 */
describe('snapshot selectors', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let config: string;
  let identity: string;
  const PASSWORD = 'a long repository passphrase';
  // A name that would set the terminal title and ring the bell if printed raw, and one with a newline.
  const EVIL = 'evil\x1b]0;pwned\x07.yaml';
  const NEWLINE = 'two\nlines.yaml';
  const lb = (args: string[]) =>
    runCli(['--config', config, ...args], { env: cliEnvFor(path.join(dir, 'cache'), undefined) });
  const show = (r: CliResult) => `exit ${r.code}\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`;
  const snapshots = async () =>
    (
      JSON.parse((await lb(['--json', 'snapshots'])).stdout) as {
        snapshots: Array<{ id: string; source?: string; time: string }>;
      }
    ).snapshots;
  let conf: string;
  let secretsFile: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir('lifeboat-e2e-selectors-'));
    conf = path.join(dir, 'app', 'conf');
    mkdirSync(conf, { recursive: true });
    writeFileSync(path.join(conf, 'app.yaml'), 'port: 8080\n');
    writeFileSync(path.join(conf, EVIL), 'x\n');
    writeFileSync(path.join(conf, NEWLINE), 'y\n');
    secretsFile = path.join(dir, 'app', 'secrets', '.env');
    mkdirSync(path.dirname(secretsFile));
    writeFileSync(secretsFile, 'TOKEN=hunter2\n', { mode: 0o600 });
    identity = path.join(dir, 'offline.key');
    const keygen = spawnSync('age-keygen', ['-o', identity], { encoding: 'utf8' });
    const recipient = /Public key: (age1[0-9a-z]+)/.exec(keygen.stderr)![1]!;
    writeFileSync(path.join(dir, 'repo.pass'), `${PASSWORD}\n`, { mode: 0o600 });
    config = path.join(dir, 'lifeboat.yaml');
    writeFileSync(
      config,
      `version: 1
repositories:
  local: { url: ./repo, password_file: repo.pass }
sources:
  config:  { type: files, paths: [app/conf] }
  secrets: { type: files, paths: [app/secrets/.env], seal_to: [${recipient}] }
`,
    );
    for (const args of [
      ['init', '--repo', 'local'],
      ['backup', '--source', 'secrets'],
      ['backup', '--source', 'config'],
    ]) {
      const r = await lb(args);
      expect(r.code, show(r)).toBe(0);
    }
  });
  afterAll(() => cleanup());

  it('dump latest PATH takes the newest snapshot holding PATH, even when another source was backed up later', async () => {
    const r = await runCliBinary(['--config', config, 'dump', 'latest', `${secretsFile}.age`], {
      env: cliEnvFor(path.join(dir, 'cache'), undefined),
    });
    expect(r.code, r.stderr).toBe(0);
    const plain = spawnSync('age', ['-d', '-i', identity], { input: r.stdout, encoding: 'utf8' });
    expect(plain.status, plain.stderr).toBe(0);
    expect(plain.stdout).toBe('TOKEN=hunter2\n');
  });

  it('without --source, latest on a repository of several sources is refused and names them', async () => {
    for (const args of [
      ['ls', 'latest'],
      ['restore', 'latest', '--target', path.join(dir, 'nowhere'), '--dry-run'],
      ['verify', 'latest'],
    ]) {
      const r = await lb(args);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain('"latest" is ambiguous');
      expect(r.stderr).toContain('"config"');
      expect(r.stderr).toContain('"secrets"');
      expect(r.stderr).toContain('--source');
    }
  });

  it('latest follows --source on ls, dump, restore and verify, and --host narrows it', async () => {
    const ls = await lb(['ls', 'latest', '--source', 'secrets']);
    expect(ls.code, show(ls)).toBe(0);
    expect(ls.stdout).toContain('.env.age');
    expect(ls.stdout).not.toContain('app.yaml');
    const dump = await lb(['dump', 'latest', path.join(conf, 'app.yaml'), '--source', 'config']);
    expect(dump.code, show(dump)).toBe(0);
    expect(dump.stdout).toBe('port: 8080\n');
    const wrongSource = await lb(['dump', 'latest', path.join(conf, 'app.yaml'), '--source', 'secrets']);
    expect(wrongSource.code, show(wrongSource)).toBe(1);
    expect(wrongSource.stderr).toContain('no snapshot matches');
    const dry = await lb(['restore', 'latest', '--source', 'config', '--target', path.join(dir, 'r'), '--dry-run']);
    expect(dry.code, show(dry)).toBe(0);
    expect(dry.stdout).toContain('app.yaml');
    const otherHost = await lb(['ls', 'latest', '--source', 'config', '--host', 'no-such-host']);
    expect(otherHost.code, show(otherHost)).toBe(1);
  });

  it('diff ID latest compares with the newest snapshot of the same source', async () => {
    const first = (await snapshots()).find((s) => s.source === 'config')!;
    writeFileSync(path.join(conf, 'app.yaml'), 'port: 9090\n');
    for (const source of ['config', 'secrets']) {
      const r = await lb(['backup', '--source', source]);
      expect(r.code, show(r)).toBe(0);
    }
    const d = await lb(['--json', 'diff', first.id.slice(0, 8), 'latest']);
    expect(d.code, show(d)).toBe(0);
    const out = JSON.parse(d.stdout) as { a: string; b: string; changes: Array<{ path: string; change: string }> };
    const newestConfig = (await snapshots()).filter((s) => s.source === 'config').at(-1)!;
    expect(out.b).toBe(newestConfig.id);
    expect(out.changes).toEqual([{ path: path.join(conf, 'app.yaml'), change: 'modified' }]);
  });

  it('find searches across snapshots by name or path, with --source, --host, --path and --json', async () => {
    const r = await lb(['find', 'app.yaml']);
    expect(r.code, show(r)).toBe(0);
    expect(
      r.stdout
        .trim()
        .split('\n')
        .filter((l) => l.includes('app.yaml') && !l.includes('match')),
    ).toHaveLength(2);
    const json = await lb(['--json', 'find', '*.age', '--source', 'secrets']);
    expect(json.code, show(json)).toBe(0);
    const lines = jsonLines(json.stdout);
    const matches = lines.filter((l) => l.type === 'match');
    expect(matches).toHaveLength(2);
    expect(matches.every((m) => m.path === `${secretsFile}.age`)).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: 'summary', matches: 2, snapshotsWithMatches: 2 });
    const under = await lb(['--json', 'find', `${path.dirname(conf)}/**/*.yaml`, '--path', conf]);
    expect(under.code, show(under)).toBe(0);
    expect(
      jsonLines(under.stdout)
        .filter((l) => l.type === 'match')
        .map((m) => m.path),
    ).toContain(path.join(conf, EVIL));
    const none = await lb(['find', 'nothing-like-this']);
    expect(none.code, show(none)).toBe(1);
    expect(none.stderr).toContain('nothing matches');
    const noHost = await lb(['find', '*', '--host', 'no-such-host']);
    expect(noHost.code, show(noHost)).toBe(1);
  });

  it('prints control characters of file names escaped; --json keeps the exact names', async () => {
    const before = (await snapshots()).find((s) => s.source === 'config')!;
    const runs = [
      await lb(['ls', 'latest', '--source', 'config']),
      await lb(['ls', '--long', 'latest', '--source', 'config']),
      await lb(['find', 'evil*']),
      await lb(['find', 'two*']),
      await lb(['restore', 'latest', '--source', 'config', '--target', path.join(dir, 'r'), '--dry-run']),
      await lb(['diff', '--source', 'config', before.id.slice(0, 8), 'latest']),
    ];
    for (const r of runs.slice(0, 5)) {
      expect(r.code, show(r)).toBe(0);
      expect(r.stdout).not.toContain('\x1b');
      expect(r.stdout).not.toContain('\x07');
    }
    expect(runs[0]!.stdout).toContain('evil\\e]0;pwned\\x07.yaml');
    expect(runs[0]!.stdout).toContain('two\\nlines.yaml');
    expect(runs[2]!.stdout).toContain('evil\\e]0;pwned\\x07.yaml');
    expect(runs[3]!.stdout).toContain('two\\nlines.yaml');
    expect(runs[4]!.stdout).toContain('evil\\e]0;pwned\\x07.yaml');
    const json = await lb(['--json', 'ls', 'latest', '--source', 'config']);
    const names = jsonLines(json.stdout).map((l) => l.path);
    expect(names).toContain(path.join(conf, EVIL));
    expect(names).toContain(path.join(conf, NEWLINE));

    // diff: a new file with an escape sequence in its name
    writeFileSync(path.join(conf, 'new\x1b[2Jfile'), 'z\n');
    expect((await lb(['backup', '--source', 'config'])).code).toBe(0);
    const diff = await lb(['diff', '--source', 'config', before.id.slice(0, 8), 'latest']);
    expect(diff.code, show(diff)).toBe(0);
    expect(diff.stdout).not.toContain('\x1b');
    expect(diff.stdout).toContain('new\\e[2Jfile');
  });

  it('a snapshot dated in the future is not taken as latest silently', async () => {
    // A client with a clock 48 h fast: its snapshot of "secrets" is dated in the future.
    const repo = await openRepo(path.join(dir, 'repo'), PASSWORD);
    const { snapshots: all } = await repo.listSnapshots();
    const ofConfig = all.filter((s) => s.source === 'config').at(-1)!;
    const { id: _id, ...record } = ofConfig;
    const futureId = await repo.saveSnapshot({
      ...record,
      source: 'secrets',
      host: 'fast-clock',
      time: new Date(Date.now() + 48 * 3600_000).toISOString(),
    });
    await repo.close();
    const ls = await lb(['ls', 'latest', '--source', 'secrets']);
    expect(ls.code, show(ls)).toBe(0);
    expect(ls.stdout).toContain('.env.age');
    expect(ls.stdout).not.toContain('app.yaml');
    expect(ls.stderr).toContain('future');
    expect(ls.stderr).toContain(futureId.slice(0, 8));
    // Given by id, it is used.
    const byId = await lb(['ls', futureId.slice(0, 12)]);
    expect(byId.code, show(byId)).toBe(0);
    expect(byId.stdout).toContain('app.yaml');
  });
});
