import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packObjectName } from '../../src/repository/ids.js';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, fileHashes, restoredPath } from '../helpers/e2e.js';
import { openRepo, snapshotNodes } from '../helpers/repo-lib.js';

/**
 * `repair index` rebuilds a deleted or garbled index from the pack headers, so
 * every snapshot restores again; `repair snapshots` rewrites a snapshot that
 * lost a pack without the lost files, so what is intact restores and `check`
 * is clean. `check` names both commands in its hints.
 */

const PW = 'repair test password';

interface Check {
  ok: boolean;
  findings: Array<{ severity: string; kind: string; message: string; hint?: string }>;
}

let dir: string;
let cleanup: () => Promise<void>;
let pristine: string;
let data: string;
/** Each snapshot of the pristine repository with the files it holds (relative path → SHA-256). */
const snapshots: Array<{ id: string; files: Map<string, string> }> = [];
let runs = 0;

const show = (r: CliResult) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

function cli(repo: string, args: string[]): Promise<CliResult> {
  // A fresh cache for every run: nothing may come from a copy the repository no longer holds.
  return runCli(['--repo', repo, ...args], { env: cliEnvFor(path.join(dir, `cache-${++runs}`), PW) });
}

function copyRepo(): string {
  const to = path.join(dir, `copy-${++runs}`);
  cpSync(pristine, to, { recursive: true });
  return to;
}

async function restoreFiles(repo: string, id: string): Promise<{ r: CliResult; files: Map<string, string> }> {
  const target = path.join(dir, `restore-${++runs}`);
  const r = await cli(repo, ['restore', id, '--target', target]);
  let files = new Map<string, string>();
  try {
    files = fileHashes(restoredPath(target, data));
  } catch {
    // nothing restored
  }
  return { r, files };
}

async function expectAllRestore(repo: string): Promise<void> {
  for (const s of snapshots) {
    const { r, files } = await restoreFiles(repo, s.id);
    expect(r.code, show(r)).toBe(0);
    expect([...files].sort()).toEqual([...s.files].sort());
  }
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-repair-'));
  pristine = path.join(dir, 'repo');
  data = path.join(dir, 'data');
  mkdirSync(path.join(data, 'docs'), { recursive: true });
  writeFileSync(path.join(data, 'docs/a.txt'), 'first file\n'.repeat(100));
  writeFileSync(path.join(data, 'b.txt'), 'second file\n'.repeat(80));
  expect((await cli(pristine, ['init'])).code).toBe(0);
  for (const step of [0, 1]) {
    if (step === 1) {
      mkdirSync(path.join(data, 'new'), { recursive: true });
      writeFileSync(path.join(data, 'new/c.txt'), 'added by the second backup\n'.repeat(90));
    }
    const b = await cli(pristine, ['backup', data, '--json']);
    expect(b.code, show(b)).toBe(0);
    snapshots.push({ id: lastJson<{ snapshot: { id: string } }>(b.stdout).snapshot.id, files: fileHashes(data) });
  }
}, 120_000);

afterAll(async () => {
  await cleanup?.();
});

describe('repair index', () => {
  it('after every index file is deleted: check suggests it, it rebuilds the index, every snapshot restores byte-identical and check --read-data passes', async () => {
    const repo = copyRepo();
    const packs = readdirSync(path.join(repo, 'data'), { recursive: true }).filter((f) =>
      /[0-9a-f]{64}$/.test(String(f)),
    ).length;
    rmSync(path.join(repo, 'index'), { recursive: true });
    mkdirSync(path.join(repo, 'index'));

    const before = await cli(repo, ['check', '--json']);
    expect(before.code, show(before)).toBe(1);
    expect(lastJson<Check>(before.stdout).findings.some((f) => f.hint?.includes('lifeboat repair index'))).toBe(true);

    const dry = await cli(repo, ['repair', 'index', '--dry-run', '--json']);
    expect(dry.code, show(dry)).toBe(0);
    expect(lastJson<{ packsIndexed: number; dryRun: boolean }>(dry.stdout)).toMatchObject({
      packsIndexed: packs,
      dryRun: true,
    });
    expect(readdirSync(path.join(repo, 'index'))).toEqual([]);

    const r = await cli(repo, ['repair', 'index', '--json']);
    expect(r.code, show(r)).toBe(0);
    const report = lastJson<{ packsIndexed: number; packsListed: number; written: string[] }>(r.stdout);
    expect(report.packsIndexed).toBe(packs);
    expect(report.packsListed).toBe(packs);
    expect(report.written.length).toBe(1);

    await expectAllRestore(repo);
    const c = await cli(repo, ['check', '--read-data', '--json']);
    expect(c.code, show(c)).toBe(0);
    expect(lastJson<Check>(c.stdout).findings).toEqual([]);
  });

  it('replaces a garbled index file, and check is clean afterwards', async () => {
    const repo = copyRepo();
    const files = readdirSync(path.join(repo, 'index'));
    expect(files.length).toBeGreaterThan(1);
    const victim = path.join(repo, 'index', files[0]!);
    const bytes = readFileSync(victim);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(victim, bytes);

    const before = await cli(repo, ['check', '--json']);
    expect(before.code, show(before)).toBe(1);
    const unreadable = lastJson<Check>(before.stdout).findings.find((f) => f.kind === 'unreadable-index');
    expect(unreadable?.hint).toMatch(/lifeboat repair index/);

    const r = await cli(repo, ['repair', 'index']);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`replaced unreadable index file index/${files[0]}`);
    expect(readdirSync(path.join(repo, 'index'))).not.toContain(files[0]);

    await expectAllRestore(repo);
    const c = await cli(repo, ['check', '--json']);
    expect(c.code, show(c)).toBe(0);
  });
});

describe('repair snapshots', () => {
  it('after a data pack is lost: the repaired snapshot restores what is intact, names what was dropped, and check is clean', async () => {
    const repo = copyRepo();
    const second = snapshots[1]!;
    // The pack holding the file only the second backup stored.
    const lib = await openRepo(repo, PW);
    let lostPack: string;
    try {
      await lib.loadIndex();
      const { snapshots: listed } = await lib.listSnapshots();
      const node = (
        await snapshotNodes(
          lib,
          listed.find((s) => s.id === second.id)!,
        )
      ).get(`${data}/new/c.txt`)!;
      lostPack = lib.index.lookup(Buffer.from(node.content![0]!, 'hex'))!.packId;
    } finally {
      await lib.close();
    }
    rmSync(path.join(repo, packObjectName(lostPack)));

    const before = await cli(repo, ['check', '--json']);
    expect(before.code, show(before)).toBe(1);
    expect(lastJson<Check>(before.stdout).findings.some((f) => f.hint?.includes('lifeboat repair snapshots'))).toBe(
      true,
    );

    const dry = await cli(repo, ['repair', 'snapshots', '--dry-run', '--json']);
    expect(dry.code, show(dry)).toBe(0);
    expect(readdirSync(path.join(repo, 'snapshots')).sort()).toEqual(snapshots.map((s) => s.id).sort());

    const r = await cli(repo, ['repair', 'snapshots', '--forget', '--json']);
    expect(r.code, show(r)).toBe(0);
    const report = lastJson<{
      repaired: Array<{
        original: string;
        repaired: string;
        forgotten: boolean;
        dropped: Array<{ path: string; type: string }>;
      }>;
    }>(r.stdout);
    expect(report.repaired).toHaveLength(1);
    const repaired = report.repaired[0]!;
    expect(repaired).toMatchObject({ original: second.id, forgotten: true });
    expect(repaired.dropped).toEqual([expect.objectContaining({ path: `${data}/new/c.txt`, type: 'file' })]);

    const list = await cli(repo, ['snapshots', '--json']);
    const shown = (JSON.parse(list.stdout) as { snapshots: Array<{ id: string; tags: string[]; original?: string }> })
      .snapshots;
    expect(shown.map((s) => s.id).sort()).toEqual([snapshots[0]!.id, repaired.repaired].sort());
    expect(shown.find((s) => s.id === repaired.repaired)).toMatchObject({ original: second.id, tags: ['repaired'] });

    const { r: restored, files } = await restoreFiles(repo, repaired.repaired);
    expect(restored.code, show(restored)).toBe(0);
    expect([...files].sort()).toEqual([...second.files].filter(([rel]) => rel !== 'new/c.txt').sort());
    const first = await restoreFiles(repo, snapshots[0]!.id);
    expect(first.r.code, show(first.r)).toBe(0);
    expect([...first.files].sort()).toEqual([...snapshots[0]!.files].sort());

    const c = await cli(repo, ['check', '--json']);
    expect(c.code, show(c)).toBe(0);
  });
});
