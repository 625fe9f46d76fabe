import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backup } from '../../src/archiver/backup.js';
import { Repository } from '../../src/repository/repository.js';
import type { SnapshotEntry } from '../../src/repository/format/index.js';
import { snapshotIsComplete } from '../../src/retention/snapshot-check.js';
import { openStorage } from '../../src/storage/registry.js';
import { checkBackup } from '../../src/verify/post-backup.js';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * `check`, `verify` and the check of a copy answer for what storage holds, so
 * a local cache holding intact copies must not hide objects damaged in
 * storage: after one `check` filled the cache, a byte flipped in the only
 * snapshot, the only index file or the tree pack in storage is found — with
 * and without --read-data. And a repository left with no key slot (opened
 * with the recovery key file) is reported by `check` and `key list`.
 */

const PW = 'cache trust test password';

interface CheckJson {
  ok: boolean;
  findings: Array<{ severity: string; kind: string; object?: string; pack?: string; message: string }>;
}

let dir: string;
let cleanup: () => Promise<void>;
let pristine: string;
let runs = 0;

const show = (r: CliResult) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

function cli(repo: string, args: string[], extra: Record<string, string | undefined> = {}): Promise<CliResult> {
  // One cache per repository copy: every copy has the same repository id.
  return runCli(['--repo', repo, ...args], { env: cliEnvFor(`${repo}.cache`, PW, extra) });
}

function only(repo: string, dirName: string): string {
  const names = readdirSync(path.join(repo, dirName), { recursive: true, withFileTypes: true }).filter((e) =>
    e.isFile(),
  );
  expect(names).toHaveLength(1);
  return path.join(names[0]!.parentPath, names[0]!.name);
}

function flipByte(file: string, at = 40): void {
  const bytes = readFileSync(file);
  const i = at % bytes.length;
  bytes[i] = bytes[i]! ^ 0x01;
  writeFileSync(file, bytes);
}

/** A copy of the pristine repository whose cache a first, clean `check` has filled. */
async function cachedCopy(): Promise<string> {
  const repo = path.join(dir, `repo-${++runs}`);
  mkdirSync(repo);
  for (const e of readdirSync(pristine, { recursive: true, withFileTypes: true })) {
    const rel = path.relative(pristine, path.join(e.parentPath, e.name));
    if (e.isDirectory()) mkdirSync(path.join(repo, rel), { recursive: true });
    else writeFileSync(path.join(repo, rel), readFileSync(path.join(pristine, rel)));
  }
  const first = await cli(repo, ['check', '--json']);
  expect(first.code, show(first)).toBe(0);
  return repo;
}

/** Tree packs are the packs whose bytes a structural check reads: the one pack the cache holds. */
function cachedTreePack(repo: string): string {
  const cacheRoot = `${repo}.cache`;
  const [repoId] = readdirSync(cacheRoot);
  const cached = readdirSync(path.join(cacheRoot, repoId!, 'data'), { recursive: true, withFileTypes: true }).filter(
    (e) => e.isFile(),
  );
  expect(cached).toHaveLength(1);
  const id = cached[0]!.name;
  return path.join(repo, 'data', id.slice(0, 2), id);
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-cache-trust-'));
  pristine = path.join(dir, 'pristine');
  const data = path.join(dir, 'data');
  mkdirSync(path.join(data, 'sub'), { recursive: true });
  writeFileSync(path.join(data, 'a.txt'), 'alpha\n'.repeat(1000));
  writeFileSync(path.join(data, 'sub', 'b.bin'), Buffer.alloc(50_000, 7));
  for (const args of [['init'], ['backup', data]]) {
    const r = await runCli(['--repo', pristine, ...args], { env: cliEnvFor(path.join(dir, 'init.cache'), PW) });
    expect(r.code, show(r)).toBe(0);
  }
}, 120_000);

afterAll(async () => cleanup?.());

describe('check reads what is in storage, not the local cache', () => {
  for (const readData of [false, true]) {
    const flags = readData ? ['--read-data'] : [];
    const label = readData ? 'check --read-data' : 'check';

    it(`${label}: a damaged snapshot and a damaged index file in storage are found although the cache holds intact copies`, async () => {
      const repo = await cachedCopy();
      const snapshot = only(repo, 'snapshots');
      const index = only(repo, 'index');
      flipByte(snapshot);
      flipByte(index);
      const r = await cli(repo, ['check', '--json', ...flags]);
      expect(r.code, show(r)).toBe(1);
      const report = lastJson<CheckJson>(r.stdout);
      expect(report.ok).toBe(false);
      const kinds = report.findings.map((f) => `${f.kind} ${f.object ?? ''}`);
      expect(kinds).toContain(`unreadable-snapshot snapshots/${path.basename(snapshot)}`);
      expect(kinds).toContain(`unreadable-index index/${path.basename(index)}`);
      const text = await cli(repo, ['check', ...flags]);
      expect(text.code, show(text)).toBe(1);
      expect(text.stdout).toContain('ERRORS FOUND');
      expect(text.stdout).not.toContain('no errors found');
    }, 120_000);

    // With --read-data every pack is read from storage anyway.
    if (!readData)
      it(`${label}: a damaged tree pack in storage is found although the cache holds an intact copy`, async () => {
        const repo = await cachedCopy();
        flipByte(cachedTreePack(repo), 100);
        const r = await cli(repo, ['check', '--json', ...flags]);
        expect(r.code, show(r)).toBe(1);
        const report = lastJson<CheckJson>(r.stdout);
        expect(report.findings.some((f) => f.kind === 'unreadable-tree' || f.kind === 'corrupt-pack')).toBe(true);
      }, 120_000);
  }

  it('verify restores from what storage holds: a tree pack damaged in storage fails it although the cache holds an intact copy', async () => {
    const repo = await cachedCopy();
    const before = await cli(repo, ['verify', '--json']);
    expect(before.code, show(before)).toBe(0);
    flipByte(cachedTreePack(repo), 100);
    const after = await cli(repo, ['verify', '--json']);
    expect(after.code, show(after)).not.toBe(0);
    expect(after.stdout + after.stderr).toMatch(/content hash|damaged/);
  }, 120_000);
});

describe('a repository with no key slot left', () => {
  it('check and key list, opened with the recovery key file, report that no password opens it', async () => {
    const repo = await cachedCopy();
    const keyFile = path.join(dir, `recovery-${runs}.txt`);
    const exported = await cli(repo, ['key', 'export', '--out', keyFile]);
    expect(exported.code, show(exported)).toBe(0);
    rmSync(path.join(repo, 'keys'), { recursive: true });
    mkdirSync(path.join(repo, 'keys'));
    const withKey = { LIFEBOAT_PASSWORD: undefined, LIFEBOAT_KEY_FILE: keyFile };

    const check = await cli(repo, ['check', '--json'], withKey);
    expect(check.code, show(check)).toBe(1);
    const report = lastJson<CheckJson>(check.stdout);
    expect(report.findings.map((f) => f.kind)).toContain('no-key-slot');
    const text = await cli(repo, ['check'], withKey);
    expect(text.code, show(text)).toBe(1);
    expect(text.stdout).toMatch(/no readable key slot/);

    const list = await cli(repo, ['key', 'list'], withKey);
    expect(list.code, show(list)).toBe(1);
    expect(list.stderr + list.stdout).toMatch(/no readable key slot/);
  }, 120_000);
});

describe('the checks behind backup --source and forget read trees from storage', () => {
  /** A repository whose tree pack the local cache holds (written there by the backup), damaged in storage. */
  async function backedUpThenTreeDamaged(): Promise<{ repo: Repository; snapshot: SnapshotEntry }> {
    const location = path.join(dir, `lib-${++runs}`);
    const repo = await Repository.init(await openStorage(location, { create: true }), Buffer.from(PW), {
      cacheRoot: `${location}.cache`,
    });
    const { snapshot } = await backup(repo, { paths: [path.join(dir, 'data')], host: 'test' });
    flipByte(cachedTreePack(location), 100);
    return { repo, snapshot };
  }

  it('checkBackup (the check right after a backup) finds a tree pack damaged in storage although the cache holds an intact copy', async () => {
    const { repo, snapshot } = await backedUpThenTreeDamaged();
    try {
      const checked = await checkBackup(repo, snapshot);
      expect(checked.verified).toBe(false);
      expect(checked.reasons.join('\n')).toMatch(/cannot be read/);
    } finally {
      await repo.close();
    }
  }, 120_000);

  it('snapshotIsComplete (what lets forget remove older snapshots) is false for a tree pack damaged in storage although the cache holds an intact copy', async () => {
    const { repo, snapshot } = await backedUpThenTreeDamaged();
    try {
      await repo.prepareRead();
      expect(await snapshotIsComplete(repo, snapshot)).toBe(false);
    } finally {
      await repo.close();
    }
  }, 120_000);
});
