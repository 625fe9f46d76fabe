import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packObjectName } from '../../src/repository/ids.js';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, fileHashes, restoredPath } from '../helpers/e2e.js';
import { openRepo, snapshotNodes } from '../helpers/repo-lib.js';

/**
 * One flipped byte in a pack stays local: trees and data are authenticated
 * blob by blob, so a damaged directory record costs that directory only.
 * Restore brings back everything intact and names what it could not; `check`
 * names the damaged directory and its snapshots; the next backup reads the
 * damaged directory's files again, stores its tree afresh (which heals the older
 * snapshots too) and says so (exit 3);
 * and a data blob that `check --read-data` found damaged is stored again by
 * the next backup rather than referenced.
 */

const PW = 'tree damage test password';

interface Check {
  ok: boolean;
  findings: Array<{
    severity: string;
    kind: string;
    message: string;
    hint?: string;
    affected?: Array<{ snapshot: string; paths: string[] }>;
  }>;
}

let dir: string;
let cleanup: () => Promise<void>;
let repo: string;
let data: string;
let restores = 0;

const show = (r: CliResult) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(-3000)}\n--- stderr\n${r.stderr.slice(-3000)}`;

/** The CLI as a machine whose cache never saw the intact packs (cache `name`). */
function cli(args: string[], cache = 'after'): Promise<CliResult> {
  return runCli(['--repo', repo, ...args], { env: cliEnvFor(path.join(dir, `cache-${cache}`), PW) });
}

/** Flip one byte in the middle of the stored copy of blob `idHex`. */
async function flipBlob(idHex: string): Promise<void> {
  const r = await openRepo(repo, PW);
  try {
    await r.loadIndex();
    const loc = r.index.lookup(Buffer.from(idHex, 'hex'))!;
    const file = path.join(repo, packObjectName(loc.packId));
    const bytes = readFileSync(file);
    bytes[loc.offset + Math.floor(loc.length / 2)]! ^= 0x5a;
    writeFileSync(file, bytes);
  } finally {
    await r.close();
  }
}

async function nodesOf(snapshotId: string) {
  const r = await openRepo(repo, PW);
  try {
    await r.loadIndex();
    const { snapshots } = await r.listSnapshots();
    return await snapshotNodes(
      r,
      snapshots.find((s) => s.id === snapshotId)!,
    );
  } finally {
    await r.close();
  }
}

function expected(): Map<string, string> {
  return fileHashes(data);
}

function restoredFiles(target: string): Map<string, string> {
  return fileHashes(restoredPath(target, data));
}

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('lifeboat-tree-damage-'));
  repo = path.join(dir, 'repo');
  data = path.join(dir, 'data');
  for (const d of ['keep/sub', 'hurt/deeper', 'other']) mkdirSync(path.join(data, d), { recursive: true });
  writeFileSync(path.join(data, 'keep/k1.txt'), 'the first kept file\n'.repeat(50));
  writeFileSync(path.join(data, 'keep/sub/k2.txt'), 'a kept file below\n'.repeat(70));
  writeFileSync(path.join(data, 'hurt/h1.txt'), 'a file whose directory record is damaged\n'.repeat(30));
  writeFileSync(path.join(data, 'hurt/deeper/h2.txt'), 'deeper still\n'.repeat(40));
  writeFileSync(path.join(data, 'other/o1.txt'), 'unique content used by one file only\n'.repeat(60));
  writeFileSync(path.join(data, 'top.txt'), 'top level\n');
  const init = await cli(['init'], 'before');
  expect(init.code, show(init)).toBe(0);
}, 120_000);

afterAll(async () => {
  await cleanup?.();
});

describe('damage in a tree pack stays local', () => {
  let first: string;

  it('restore brings back every intact file and names the damaged directory (exit 1)', async () => {
    const b = await cli(['backup', data, '--json'], 'before');
    expect(b.code, show(b)).toBe(0);
    first = lastJson<{ snapshot: { id: string } }>(b.stdout).snapshot.id;
    const nodes = await nodesOf(first);
    await flipBlob(nodes.get(`${data}/hurt`)!.subtree!);

    const target = path.join(dir, `restore-${++restores}`);
    const r = await cli(['restore', first, '--target', target]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toContain(`${data}/hurt`);
    const got = restoredFiles(target);
    for (const [rel, hash] of expected()) {
      if (rel.startsWith('hurt/')) expect(got.has(rel), rel).toBe(false);
      else expect(got.get(rel), rel).toBe(hash);
    }
  });

  it('--include of an intact directory restores it completely (exit 0)', async () => {
    const target = path.join(dir, `restore-${++restores}`);
    const r = await cli(['restore', first, '--target', target, '--include', `${data}/keep`]);
    expect(r.code, show(r)).toBe(0);
    const got = restoredFiles(target);
    const want = [...expected()].filter(([rel]) => rel.startsWith('keep/'));
    expect([...got].sort()).toEqual(want.sort());
  });

  it('check names the damaged directory and the snapshot, and a hint', async () => {
    const r = await cli(['check', '--json']);
    expect(r.code, show(r)).toBe(1);
    const report = lastJson<Check>(r.stdout);
    const trees = report.findings.filter((f) => f.kind === 'unreadable-tree');
    expect(trees.length, JSON.stringify(report.findings)).toBe(1);
    expect(trees[0]!.affected).toEqual([{ snapshot: first, paths: [expect.stringContaining(`${data}/hurt:`)] }]);
    expect(trees[0]!.affected![0]!.paths[0]!.startsWith('/:')).toBe(false);
    expect(trees[0]!.hint).toMatch(/lifeboat repair snapshots/);
  });

  it('ls lists every intact entry and names the damaged directory (exit 1)', async () => {
    const r = await cli(['ls', first]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain(`${data}/keep/sub/k2.txt`);
    expect(r.stdout).toContain(`${data}/top.txt`);
    expect(r.stdout).not.toContain(`${data}/hurt/h1.txt`);
    expect(r.stderr).toContain(`error: ${data}/hurt: the directory's contents cannot be read`);
  });

  it('the next backup reads the damaged directory again, stores its tree afresh and says so (exit 3)', async () => {
    const b = await cli(['backup', data, '--json']);
    expect(b.code, show(b)).toBe(3);
    expect(b.stderr).toContain(`${data}/hurt`);
    const second = lastJson<{ snapshot: { id: string } }>(b.stdout).snapshot.id;

    const target = path.join(dir, `restore-${++restores}`);
    const r = await cli(['restore', second, '--target', target]);
    expect(r.code, show(r)).toBe(0);
    expect([...restoredFiles(target)].sort()).toEqual([...expected()].sort());

    // The fresh copy of the directory's tree serves the first snapshot too: it restores whole again.
    const healed = path.join(dir, `restore-${++restores}`);
    const h = await cli(['restore', first, '--target', healed]);
    expect(h.code, show(h)).toBe(0);
    expect([...restoredFiles(healed)].sort()).toEqual([...expected()].sort());
    const c = await cli(['check', '--json']);
    expect(c.code, show(c)).toBe(0);
  });
});

describe('a data blob that check --read-data found damaged', () => {
  it('is stored again by the next backup, and the new snapshot restores', async () => {
    const b = await cli(['backup', data, '--json']);
    expect(b.code, show(b)).toBe(0);
    const snap = lastJson<{ snapshot: { id: string } }>(b.stdout).snapshot.id;
    const node = (await nodesOf(snap)).get(`${data}/other/o1.txt`)!;
    expect(node.content).toHaveLength(1);
    await flipBlob(node.content![0]!);

    const c = await cli(['check', '--read-data', '--json']);
    expect(c.code, show(c)).toBe(1);
    expect(lastJson<Check>(c.stdout).findings.some((f) => f.kind === 'corrupt-blob')).toBe(true);
    // A structure-only check afterwards does not call the damaged data healthy.
    const structure = await cli(['check', '--json']);
    expect(structure.code, show(structure)).toBe(1);
    expect(
      lastJson<Check>(structure.stdout).findings.find((f) => f.kind === 'corrupt-blob')?.affected?.[0]?.paths,
    ).toContain(`${data}/other/o1.txt`);

    const again = await cli(['backup', data, '--json']);
    expect(again.code, show(again)).toBe(0);
    const fresh = lastJson<{ snapshot: { id: string } }>(again.stdout).snapshot.id;
    const target = path.join(dir, `restore-${++restores}`);
    const r = await cli(['restore', fresh, '--target', target]);
    expect(r.code, show(r)).toBe(0);
    expect(restoredFiles(target).get('other/o1.txt')).toBe(expected().get('other/o1.txt'));
    // The damaged copies of the data blob and of the directory record damaged above.
    expect(again.stderr).toMatch(/2 stored blob\(s\) that `check --read-data` found damaged were not reused/);
    // The data has an intact copy again: the structure check is clean.
    const after = await cli(['check', '--json']);
    expect(after.code, show(after)).toBe(0);
  });
});
