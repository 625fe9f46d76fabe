import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SourceConfig } from '../config/source-schemas.js';
import type { Inventory, SourceFacts } from './inventory.js';
import { renderRestoreScript } from './render-script.js';
import { restoreCommand } from './restore-plan.js';

function source(name: string, config: SourceConfig, repositories: string[]): SourceFacts {
  const copies = repositories.map((repository, i) => ({
    repository,
    count: 1,
    snapshot: { id: `${i + 1}`.repeat(64), time: '2026-01-02T03:04:05.000Z', host: 'h', files: 1, bytes: 10, tags: [] },
  }));
  return {
    name,
    type: config.type,
    settings: {},
    jobs: [],
    configuredRepositories: repositories,
    copies,
    restore: copies.map((c) => restoreCommand(name, config, c.repository, c.snapshot.id)),
    afterRestore: [],
    tools: [],
    lastDrill: null,
    ...(config.type === 'files' && config.seal_to ? { sealedTo: config.seal_to } : {}),
  };
}

const inventory = {
  format: 1,
  generated: {
    time: '2026-01-02T03:04:05.000Z',
    host: 'h',
    user: 'u',
    tool: 'lifeboat 0.1.0',
    config: "/etc/life boat/it's.yaml",
    stateDir: '/var/lib/lifeboat',
  },
  sources: [
    source('app-db', { type: 'sqlite', path: '/var/lib/app/app.db' }, ['local', 'usb']),
    source(
      'secrets',
      {
        type: 'files',
        paths: ['/etc/app'],
        seal_to: ['age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq'],
      },
      ['local'],
    ),
    source('lost', { type: 'files', paths: ['/srv'] }, []),
  ],
} as unknown as Inventory;

/**
 * The script is run by sh with a stand-in `lifeboat` on PATH that records
 * its arguments and environment: what matters here is what the script
 * decides to run, not the restore itself (the end-to-end test runs that).
 */
describe('restore-commands.sh', () => {
  let dir: string;
  let script: string;
  const run = (args: string[], env: Record<string, string> = {}) => {
    rmSync(path.join(dir, 'calls'), { force: true });
    const r = spawnSync('/bin/sh', [script, ...args], {
      env: { PATH: `${dir}:/usr/bin:/bin`, RESTORE_ROOT: '/r', ...env },
      encoding: 'utf8',
    });
    let calls = '';
    try {
      calls = readFileSync(path.join(dir, 'calls'), 'utf8');
    } catch {
      // never called
    }
    return { ...r, calls };
  };

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-script-'));
    script = path.join(dir, 'restore-commands.sh');
    writeFileSync(script, renderRestoreScript(inventory));
    writeFileSync(
      path.join(dir, 'lifeboat'),
      `#!/bin/sh\n{ printf '%s|' "$@"; printf 'config=%s\\n' "$LIFEBOAT_CONFIG"; } >> "${dir}/calls"\n`,
    );
    chmodSync(path.join(dir, 'lifeboat'), 0o755);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is valid sh with set -eu', () => {
    expect(spawnSync('/bin/sh', ['-n', script]).status).toBe(0);
    expect(readFileSync(script, 'utf8')).toMatch(/^#!\/bin\/sh\n[\s\S]*\nset -eu\n/);
  });

  it('without an argument, or with an unknown one, restores nothing and lists what it can restore', () => {
    for (const args of [[], ['nope'], ['app-db', 'nowhere'], ['lost']]) {
      const r = run(args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.calls).toBe('');
      expect(r.stderr).toContain('app-db usb');
      expect(r.stderr).toContain('secrets local  (default)');
      expect(r.stderr).toContain('lost  (no snapshot found)');
    }
  });

  it('runs exactly the printed command of the source, from the first repository unless one is named', () => {
    const d =
      'restore|' + '1'.repeat(64) + "|--repo|local|--to-file|/r/app-db/app.db|config=/etc/life boat/it's.yaml\n";
    expect(run(['app-db']).calls).toBe(d);
    expect(run(['app-db', 'usb']).calls).toBe(
      'restore|' + '2'.repeat(64) + "|--repo|usb|--to-file|/r/app-db/app.db|config=/etc/life boat/it's.yaml\n",
    );
    expect(run(['app-db'], { LIFEBOAT_CONFIG: '/other.yaml' }).calls).toContain('config=/other.yaml');
  });

  it('refuses a sealed source without AGE_IDENTITY before running anything', () => {
    const without = run(['secrets']);
    expect(without.status).not.toBe(0);
    expect(without.calls).toBe('');
    expect(without.stderr).toContain('AGE_IDENTITY');
    expect(run(['secrets'], { AGE_IDENTITY: '/k.txt' }).calls).toContain('--identity|/k.txt|');
  });
});
