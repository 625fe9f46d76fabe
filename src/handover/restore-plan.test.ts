import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { SourceConfig } from '../config/source-schemas.js';
import { afterRestore, restoreCommand, restoredDatabaseName, toolsFor } from './restore-plan.js';

const ID = 'ab'.repeat(32);

/** The argv a shell builds from a printed command (the program replaced by printf, so nothing runs). */
function argv(command: string, env: Record<string, string>): string[] {
  expect(command.startsWith('lifeboat ')).toBe(true);
  const out = execFileSync('/bin/sh', ['-c', `printf '%s\\n' ${command.slice('lifeboat '.length)}`], {
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  });
  return out.split('\n').slice(0, -1);
}

describe('restore commands', () => {
  const root = { RESTORE_ROOT: '/restore root', AGE_IDENTITY: '/keys/id.txt' };

  it('gives every source type a destination that the restore command accepts, never --force', () => {
    const cases: Array<[SourceConfig, string[]]> = [
      [{ type: 'files', paths: ['/etc/app'] }, ['--target', '/restore root/cfg']],
      [
        {
          type: 'files',
          paths: ['/etc/app/*.key'],
          seal_to: ['age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq'],
        },
        ['--target', '/restore root/cfg', '--identity', '/keys/id.txt'],
      ],
      [{ type: 'sqlite', path: '/var/lib/app/app.db' }, ['--to-file', '/restore root/cfg/app.db']],
      [{ type: 'postgres', url: 'postgres://backup:pw@db:5432/shop' }, ['--to-database', 'shop_restored']],
      [{ type: 'mysql', url: 'mysql://backup@db/shop-eu' }, ['--to-database', 'shop_eu_restored']],
      [{ type: 'redis', url: 'redis://127.0.0.1:6379' }, ['--to-file', '/restore root/cfg/dump.rdb']],
      [
        { type: 'victoriametrics', url: 'http://127.0.0.1:8428', data_dir: '/var/lib/vm' },
        ['--target', '/restore root/cfg'],
      ],
      [
        { type: 'prometheus', url: 'http://127.0.0.1:9090', data_dir: '/var/lib/prom' },
        ['--target', '/restore root/cfg'],
      ],
      [
        { type: 'command', backup: 'vault operator raft snapshot save /dev/stdout', filename: 'raft.snap' },
        ['--to-file', '/restore root/cfg/raft.snap'],
      ],
    ];
    for (const [config, destination] of cases) {
      const r = restoreCommand('cfg', config, 'offsite', ID);
      expect(argv(r.command, root), config.type).toEqual(['restore', ID, '--repo', 'offsite', ...destination]);
      expect(r.command).not.toContain('--force');
      expect(afterRestore('cfg', config).length).toBeGreaterThan(0);
      expect(Array.isArray(toolsFor(config))).toBe(true);
    }
  });

  it('quotes odd file names so the shell passes them through unchanged', () => {
    const r = restoreCommand('db', { type: 'sqlite', path: '/data/my "odd" $HOME `x` \\ file.db' }, 'local', ID);
    expect(argv(r.command, root)).toEqual([
      'restore',
      ID,
      '--repo',
      'local',
      '--to-file',
      '/restore root/db/my "odd" $HOME `x` \\ file.db',
    ]);
  });

  it("names sealed sources' checks with the identity, and the restored database beside the original", () => {
    const sealed = restoreCommand(
      's',
      { type: 'files', paths: ['/x'], seal_to: ['age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq'] },
      'local',
      ID,
    );
    expect(sealed.needs).toEqual(['AGE_IDENTITY']);
    expect(argv(sealed.verify, root)).toEqual(['verify', ID, '--repo', 'local', '--identity', '/keys/id.txt']);
    expect(argv(sealed.drill, root)).toEqual([
      'drill',
      '--source',
      's',
      '--repo',
      'local',
      '--snapshot',
      ID,
      '--identity',
      '/keys/id.txt',
    ]);
    expect(restoredDatabaseName('main-pg', 'postgres://u@h/')).toBe('main_pg_restored');
    expect(restoredDatabaseName('x', 'not a url')).toBe('x_restored');
    // A source of every database of a server restores the one named in $DATABASE, beside the original.
    const server = restoreCommand('pg', { type: 'postgres', url: 'postgres://backup@db:5432' }, 'local', ID);
    expect(server.needs).toEqual(['DATABASE']);
    expect(argv(server.command, { ...root, DATABASE: 'shop' }).slice(-4)).toEqual([
      '--database',
      'shop',
      '--to-database',
      'shop_restored',
    ]);
    // A docker source restores the volume named in $VOLUME into a new volume beside it.
    const docker = restoreCommand('vols', { type: 'docker', volumes: ['shop_*'] }, 'local', ID);
    expect(docker.needs).toEqual(['VOLUME']);
    expect(argv(docker.command, { ...root, VOLUME: 'shop_db' })).toEqual([
      'restore',
      ID,
      '--repo',
      'local',
      '--volume',
      'shop_db',
      '--to-volume',
      'shop_db_restored',
    ]);
    expect(docker.command).not.toContain('--force');
  });
});
