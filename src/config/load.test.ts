import { describe, expect, it } from 'vitest';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { configJsonSchema } from './json-schema.js';
import { parseConfig } from './load.js';
import type { ConfigProblem } from './problems.js';
import { CONFIG_TEMPLATE } from './template.js';

/** A full example configuration, every section. */
const FULL_EXAMPLE = `version: 1
state_dir: /var/lib/lifeboat              # local catalog; a cache, rebuildable from repositories
repositories:
  local:   { url: /var/backup/lifeboat, password_file: /etc/lifeboat/repo.pass, media: disk, location: onsite,
             retention: { keep_daily: 7 } }
  usb:     { url: /mnt/backup-usb/lifeboat, password_file: /etc/lifeboat/repo.pass, media: usb, location: offsite,
             require_mount: true, retention: { keep_daily: 30 } }
  offsite: { url: s3://acme-backups/site-1, endpoint: https://s3.eu-central-1.amazonaws.com, region: eu-central-1,
             credentials_file: /etc/lifeboat/s3.env, password_file: /etc/lifeboat/repo.pass, media: object,
             location: offsite, retention: { keep_daily: 30, keep_weekly: 12, keep_monthly: 12, keep_yearly: 7 } }
sources:
  app-db:  { type: sqlite, path: /var/lib/app/app.db, rpo: 24h, rto: 4h }
  main-pg: { type: postgres, url: postgres://backup@127.0.0.1:5432/app, recent_data: { table: events, column: created_at } }
  cache:   { type: redis, url: redis://127.0.0.1:6379 }
  config:  { type: files, paths: [/etc/app], exclude: ["secrets.yaml", "*.key"] }
  secrets: { type: files, paths: [/etc/app/secrets.yaml, "/etc/app/*.key"], seal_to: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq] }
  tsdb:    { type: victoriametrics, url: http://127.0.0.1:8428, data_dir: /var/lib/victoria-metrics }
  vault:   { type: command, backup: "vault operator raft snapshot save /dev/stdout",
             restore: "vault operator raft snapshot restore {file}" }
jobs:
  daily:   { schedule: "0 3 * * *", sources: [app-db, main-pg, config], to: local, then: [forget, check] }
  weekly:  { schedule: "0 4 * * 0", sources: all, to: local, copy_to: [usb] }
  monthly: { schedule: "0 5 1 * *", copy_to: [offsite], drill: { within: 30d } }
  pre-migration: { sources: [main-pg], to: local, keep_last: 5 }     # no schedule: run by \`guard\`
alerts:  { overdue_after: 36h, size_change_pct: 50, min_free_pct: 10 }
notify:
  - { type: webhook, url: "https://hooks.example.com/T000", on: [failure, recovered] }
  - { type: email, smtp_url_file: /etc/lifeboat/smtp.url, to: [ops@example.com], on: [failure] }
server:  { listen: 127.0.0.1:8528, token_file: /etc/lifeboat/api.token }
`;

function problems(text: string, env: NodeJS.ProcessEnv = {}): ConfigProblem[] {
  try {
    parseConfig(text, '/etc/lifeboat/lifeboat.yaml', env);
  } catch (err) {
    expect(err).toBeInstanceOf(LifeboatError);
    expect((err as LifeboatError).code).toBe(ErrorCode.Config);
    return (err as LifeboatError).context.problems as ConfigProblem[];
  }
  throw new Error('expected the config to be rejected');
}

describe('lifeboat.yaml', () => {
  it('accepts a full example with every section', () => {
    const { config } = parseConfig(FULL_EXAMPLE, '/etc/lifeboat/lifeboat.yaml');
    expect(Object.keys(config.sources!)).toHaveLength(7);
    expect(config.jobs!.daily!.then).toEqual(['forget', 'check']);
    expect(config.repositories!.usb!.require_mount).toBe(true);
  });

  it('accepts the template that init --config-template writes', () => {
    expect(() => parseConfig(CONFIG_TEMPLATE, '/tmp/lifeboat.yaml')).not.toThrow();
  });

  it('names the line, the key and a likely correction for an unknown key', () => {
    const [p, ...rest] = problems(
      'version: 1\nrepositories:\n  local:\n    url: /srv/backup\n    retention: { keep_dayly: 7 }\n',
    );
    expect(rest).toEqual([]);
    expect(p).toMatchObject({
      line: 5,
      path: 'repositories.local.retention.keep_dayly',
      hint: 'did you mean "keep_daily"?',
    });
  });

  it('suggests the source type meant by a misspelt one', () => {
    const [p] = problems('version: 1\nsources:\n  db:\n    type: sqllite\n    path: /x.db\n');
    expect(p).toMatchObject({ line: 4, path: 'sources.db.type' });
    expect(p!.hint).toContain('did you mean "sqlite"?');
  });

  it('reports a missing required key and a wrong type at their lines', () => {
    const found = problems(
      'version: 1\nsources:\n  db:\n    type: sqlite\n  conf:\n    type: files\n    paths: /etc/app\n',
    );
    expect(found.map((p) => [p.path, p.line])).toEqual([
      ['sources.db.path', 4],
      ['sources.conf.paths', 7],
    ]);
    expect(found[1]!.message).toBe('expected array, found a string');
  });

  it('takes stream-mode point-in-time recovery only with a replication slot', () => {
    const pg = (pitr: string) =>
      `version: 1\nsources:\n  db: { type: postgres, url: "postgres://u@127.0.0.1/postgres", pitr: ${pitr} }\n`;
    expect(() => parseConfig(pg('{ wal: stream, slot: lifeboat_db }'), '/tmp/lifeboat.yaml')).not.toThrow();
    expect(problems(pg('{ wal: stream }')).map((p) => p.path)).toEqual(['sources.db.pitr.slot']);
    expect(problems(pg('{ wal: archive, slot: lifeboat_db }')).map((p) => p.path)).toEqual(['sources.db.pitr.slot']);
    expect(problems(pg('{ wal: stream, slot: "Bad-Name" }')).map((p) => p.path)).toEqual(['sources.db.pitr.slot']);
  });

  it('rejects bad durations, names and YAML syntax', () => {
    expect(problems('version: 1\nsources:\n  db: { type: sqlite, path: /x, rpo: 24 hours }\n')[0]!.path).toBe(
      'sources.db.rpo',
    );
    expect(problems('version: 1\nsources:\n  "bad name": { type: sqlite, path: /x }\n').length).toBe(1);
    expect(problems('version: 1\nsources: [\n')[0]!.hint).toBe('this is not valid YAML');
    expect(problems('version: 2\n')[0]!.path).toBe('version');
  });

  it('takes a database URL that names no database as every database of the server, and refuses what contradicts that', () => {
    for (const [type, url] of [
      ['postgres', 'postgres://backup:s3cret@db.example.org:5432'],
      ['postgres', 'postgresql://backup@db.example.org/'],
      ['mysql', 'mysql://backup:s3cret@db.example.org:3306/'],
      ['mysql', 'mariadb://db.example.org'],
    ]) {
      expect(
        () => parseConfig(`version: 1\nsources:\n  db:\n    type: ${type}\n    url: "${url}"\n`, '/tmp/lifeboat.yaml'),
        url,
      ).not.toThrow();
      expect(
        () =>
          parseConfig(
            `version: 1\nsources:\n  db:\n    type: ${type}\n    url: "${url}"\n    databases: [app, "shop_*"]\n    exclude_databases: [shop_test]\n`,
            '/tmp/lifeboat.yaml',
          ),
        url,
      ).not.toThrow();
    }
    const both = problems(
      'version: 1\nsources:\n  db: { type: postgres, url: "postgres://backup:s3cret@db.example.org/app", databases: all }\n',
    );
    expect(both[0]).toMatchObject({
      path: 'sources.db.databases',
      message: expect.stringContaining('already names one database'),
    });
    expect(JSON.stringify(both)).not.toContain('s3cret');
    const recent = problems(
      'version: 1\nsources:\n  db: { type: mysql, url: "mysql://db.example.org", recent_data: { table: t, column: c } }\n',
    );
    expect(recent[0]).toMatchObject({
      path: 'sources.db.recent_data',
      message: expect.stringContaining('one database'),
    });
    const [bad] = problems(
      'version: 1\nsources:\n  db: { type: postgres, url: "postgres://db.example.org:99999/app" }\n',
    );
    expect(bad!.message).toContain('not a valid postgres URL');
    expect(
      problems('version: 1\nsources:\n  cache: { type: redis, url: "redis://cache.example.org:70000" }\n')[0]!.message,
    ).toContain('not a valid redis URL');
    expect(
      problems(
        'version: 1\nsources:\n  vm: { type: victoriametrics, url: "http://vm:99999", data_dir: /var/lib/vm }\n',
      )[0]!.message,
    ).toContain('not a valid http:// URL');
  });

  it('takes recent_data on a sqlite source with continuous (its stream drills read it) and refuses it without', () => {
    const base =
      'version: 1\nsources:\n  app: { type: sqlite, path: /var/lib/app.db, recent_data: { table: events, column: at }';
    expect(() => parseConfig(`${base}, continuous: {} }\n`, '/tmp/lifeboat.yaml')).not.toThrow();
    expect(problems(`${base} }\n`)[0]).toMatchObject({
      path: 'sources.app.recent_data',
      message: expect.stringContaining('configure `continuous:` too'),
    });
  });

  it('refuses a repository URL that can only fail when opened, at load time, without repeating it', () => {
    const repo = (url: string) => problems(`version: 1\nrepositories:\n  r: { url: "${url}" }\n`);
    expect(repo('sftp://backup:hunter2@nas.example.org/srv/r')[0]).toMatchObject({
      path: 'repositories.r.url',
      message: expect.stringContaining('password in an sftp:// URL is refused'),
    });
    expect(JSON.stringify(repo('sftp://backup:hunter2@nas.example.org/srv/r'))).not.toContain('hunter2');
    expect(repo('sftp:///srv/r')[0]!.message).toContain('names no host');
    expect(repo('s3://bucket:99999999/x')[0]!.message).toContain('not a valid URL');
    expect(() =>
      parseConfig(
        'version: 1\nrepositories:\n  a: { url: ./repo }\n  b: { url: "sftp://nas/srv/r" }\n  c: { url: "s3://bucket/prefix" }\n',
        '/tmp/lifeboat.yaml',
      ),
    ).not.toThrow();
    expect(() =>
      parseConfig(
        'version: 1\nsources:\n  db: { type: postgres, url: "postgres://backup@db.example.org/app" }\n',
        '/tmp/lifeboat.yaml',
      ),
    ).not.toThrow();
  });

  it('expands ${ENV} and reports unset variables at their line', () => {
    const { config } = parseConfig(
      'version: 1\nrepositories:\n  r: { url: "${BACKUP_ROOT}/repo", password_file: "$${LITERAL}" }\n',
      '/c/lifeboat.yaml',
      { BACKUP_ROOT: '/srv' },
    );
    expect(config.repositories!.r!.url).toBe('/srv/repo');
    expect(config.repositories!.r!.password_file).toBe('/c/${LITERAL}');
    const [p] = problems('version: 1\nrepositories:\n  r: { url: "${NOPE}/repo" }\n');
    expect(p).toMatchObject({ line: 3, message: 'environment variable NOPE is not set' });
  });

  it('checks names across sections and schedules that never fire', () => {
    const found = problems(`version: 1
repositories:
  local: { url: /srv/repo }
sources:
  app-db: { type: sqlite, path: /x.db }
jobs:
  a: { sources: [app-bd], to: local }
  b: { sources: [app-db], to: lokal }
  c: { sources: [app-db], to: local, schedule: "0 0 31 2 *" }
  d: { sources: [app-db], to: local, schedule: "every day" }
  e: { schedule: "0 3 * * *" }
  f: { sources: [app-db] }
`);
    const by = Object.fromEntries(found.map((p) => [p.path, p]));
    expect(by['jobs.a.sources.0']).toMatchObject({ line: 7, hint: 'did you mean "app-db"?' });
    expect(by['jobs.b.to']).toMatchObject({ line: 8, hint: 'did you mean "local"?' });
    expect(by['jobs.c.schedule']!.message).toContain('never fires');
    expect(by['jobs.d.schedule']!.message).toContain('invalid schedule');
    expect(by['jobs.e']!.message).toBe('the job does nothing');
    expect(by['jobs.f']!.message).toContain('no repository');
  });

  it('reports a YAML alias bomb at its first alias, at once', () => {
    // Nine levels of nine aliases each would expand to 9^9 (387 million) strings.
    const levels = ['a0: &a0 [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(', ')}]`,
      );
    const started = Date.now();
    const [p, ...rest] = problems(`version: 1\n${levels.join('\n')}\n`);
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ line: 3, column: 10 });
    expect(p!.message).toMatch(/aliases expand to too much data/);
    // Generous on purpose (a loaded machine): expanding the bomb would take minutes and gigabytes.
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it('reports a repeated key at its line', () => {
    const [p, ...rest] = problems(
      'version: 1\nsources:\n  db: { type: sqlite, path: /x }\n  db: { type: sqlite, path: /y }\n',
    );
    expect(rest).toEqual([]);
    expect(p).toMatchObject({ line: 4, message: 'Map keys must be unique' });
  });

  it('accepts server.listen as host:port or [IPv6]:port with a port up to 65535 (0: any free port)', () => {
    for (const listen of ['127.0.0.1:8528', 'localhost:1', '"127.0.0.1:0"', '"[::1]:65535"', '"[fe80::1]:8528"']) {
      expect(
        () => parseConfig(`version: 1\nserver: { listen: ${listen} }\n`, '/c/lifeboat.yaml'),
        listen,
      ).not.toThrow();
    }
    for (const listen of [
      '127.0.0.1:99999',
      '127.0.0.1:65536',
      '"127.0.0.1:000000"',
      '::1:8528',
      '"[::1]:70000"',
      '127.0.0.1',
    ]) {
      const found = problems(`version: 1\nserver:\n  listen: ${listen}\n`);
      expect(
        found.map((f) => [f.path, f.line]),
        listen,
      ).toEqual([['server.listen', 3]]);
    }
  });

  it('reports a flood of problems as the first hundred and a count of the rest', () => {
    const jobs = Array.from({ length: 500 }, (_, i) => `  j${i}: { sources: [nope${i}], to: local }`).join('\n');
    const found = problems(`version: 1\nrepositories:\n  local: { url: /srv }\njobs:\n${jobs}\n`);
    expect(found).toHaveLength(101);
    expect(found[0]).toMatchObject({ path: 'jobs.j0.sources.0', line: 5 });
    expect(found[100]!.message).toBe('and 400 more problems');
  });

  it('resolves relative file paths against the config file', () => {
    const { config } = parseConfig(
      'version: 1\nrepositories:\n  r: { url: ./repo, password_file: repo.pass }\nsources:\n  db: { type: sqlite, path: data/app.db }\n  f: { type: files, paths: [conf, /abs] }\n',
      '/etc/lb/lifeboat.yaml',
    );
    expect(config.repositories!.r).toMatchObject({ url: '/etc/lb/repo', password_file: '/etc/lb/repo.pass' });
    expect(config.sources!.db).toMatchObject({ path: '/etc/lb/data/app.db' });
    expect(config.sources!.f).toMatchObject({ paths: ['/etc/lb/conf', '/abs'] });
  });

  it('publishes a JSON Schema that describes every section and source type', () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown>; required: string[] };
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['version', 'repositories', 'sources', 'jobs', 'alerts', 'notify', 'server']),
    );
    const text = JSON.stringify(schema);
    for (const t of ['files', 'sqlite', 'postgres', 'mysql', 'redis', 'victoriametrics', 'prometheus', 'command'])
      expect(text).toContain(`"const":"${t}"`);
  });
});
