import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobType, decodeIndexFile } from '../../src/repository/format/index.js';
import { blobKey } from '../../src/repository/index/index.js';
import { packObjectName } from '../../src/repository/ids.js';
import { lastJson, runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, fileHashes, prng, restoredPath, seededBytes, sha256File } from '../helpers/e2e.js';
import { initRepo, openRepo, snapshotNodes } from '../helpers/repo-lib.js';

/**
 * RELIABILITY, corruption: "one byte flipped, a file truncated, a 4 KiB
 * zero-fill in a pack: check names the pack, and the snapshots and paths
 * affected; unaffected files still restore; an affected file fails loudly and
 * is never restored with wrong bytes." Plus a deleted pack, a deleted index and
 * a garbled snapshot.
 *
 * The fixture repository is made with the library (small packs and chunks, so
 * the data spreads over many packs) and then used only through the CLI. The
 * oracles (which blobs a damage hits, which files use them) are computed from
 * the pristine repository with the library.
 */

const PW = 'corruption test password';

interface Check {
  ok: boolean;
  findings: Array<{
    severity: string;
    kind: string;
    pack?: string;
    object?: string;
    message: string;
    affected?: Array<{ snapshot: string; paths: string[] }>;
  }>;
}

interface Fixture {
  dir: string;
  data: string;
  pristine: string;
  snapshots: Array<{ id: string; state: Map<string, string> }>;
  /** Per snapshot: snapshot path of each file → its chunk keys. */
  files: Map<string, Map<string, string[]>>;
  /** Blob key → its location. */
  blobs: Map<string, { pack: string; offset: number; length: number; type: number }>;
  packs: Map<string, { size: number; blobs: Array<{ key: string; offset: number; length: number }> }>;
  /** The data pack every damage test hits. */
  victim: string;
  /** A data pack holding only blobs that files of the second snapshot use. */
  victimShared: string;
  /** Pack id → the index file (name under index/) that lists it. */
  indexOf: Map<string, string>;
  /** Index file name → how many pack entries it has, and how many distinct packs. */
  indexStats: Map<string, { entries: number; distinct: number }>;
  cleanup: () => Promise<void>;
}

let fx: Fixture;
let copies = 0;

const show = (r: CliResult) =>
  `exit ${r.code}\n--- stdout\n${r.stdout.slice(-4000)}\n--- stderr\n${r.stderr.slice(-4000)}`;

function cli(repo: string, args: string[]): Promise<CliResult> {
  // A private cache per copy: copies share the repository id.
  return runCli(['--repo', repo, ...args], { env: cliEnvFor(`${repo}.cache`, PW) });
}

function copyRepo(): string {
  const to = path.join(fx.dir, `copy-${++copies}`);
  cpSync(fx.pristine, to, { recursive: true });
  return to;
}

/** Files (snapshot paths) per snapshot that use any of the given blobs. */
function filesUsing(keys: Set<string>): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const [snap, files] of fx.files) {
    const hit = new Set([...files].filter(([, chunks]) => chunks.some((k) => keys.has(k))).map(([p]) => p));
    if (hit.size) out.set(snap, hit);
  }
  return out;
}

function packBlobKeys(pack: string): Set<string> {
  return new Set(fx.packs.get(pack)!.blobs.map((b) => b.key));
}

/** Blobs of the victim pack whose bytes differ between the pristine and the damaged pack (or lie past its end). */
function changedBlobs(pack: string, damaged: Buffer): Set<string> {
  const original = readFileSync(path.join(fx.pristine, packObjectName(pack)));
  const out = new Set<string>();
  for (const b of fx.packs.get(pack)!.blobs) {
    if (
      b.offset + b.length > damaged.length ||
      !original.subarray(b.offset, b.offset + b.length).equals(damaged.subarray(b.offset, b.offset + b.length))
    )
      out.add(b.key);
  }
  return out;
}

/** The paths check reports as affected through findings that name `pack`. */
function reportedAffected(report: Check, pack: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const f of report.findings) {
    if (f.pack !== pack) continue;
    for (const a of f.affected ?? []) out.set(a.snapshot, new Set([...(out.get(a.snapshot) ?? []), ...a.paths]));
  }
  return out;
}

const asObject = (m: Map<string, Set<string>>) => Object.fromEntries([...m].map(([k, v]) => [k, [...v].sort()]));

/**
 * Restore every snapshot of the fixture from `repo` and hold it to the oracle:
 * files in `mustFail` are absent, files outside `mayFail` are present, and
 * every present file has exactly the original bytes; the exit code is 1
 * exactly when something was not restored.
 */
async function restoreAndVerify(
  repo: string,
  mustFail: Map<string, Set<string>>,
  mayFail: Map<string, Set<string>>,
): Promise<void> {
  for (const snap of fx.snapshots) {
    const target = path.join(fx.dir, `restore-${++copies}`);
    const r = await cli(repo, ['restore', snap.id, '--target', target]);
    const must = mustFail.get(snap.id) ?? new Set<string>();
    const may = mayFail.get(snap.id) ?? new Set<string>();
    const root = restoredPath(target, fx.data);
    const got = existsSync(root) ? fileHashes(root) : new Map<string, string>();
    const problems: string[] = [];
    for (const [rel, hash] of snap.state) {
      const abs = `${fx.data}/${rel}`;
      const restored = got.get(rel);
      if (must.has(abs) && restored !== undefined) problems.push(`${rel}: restored although its data is damaged`);
      if (!may.has(abs) && restored === undefined) problems.push(`${rel}: not restored although its data is intact`);
      if (restored !== undefined && restored !== hash) problems.push(`${rel}: restored with WRONG BYTES`);
      if (restored === undefined && !r.stderr.includes(abs))
        problems.push(`${rel}: missing but stderr does not name it`);
    }
    for (const rel of got.keys())
      if (!snap.state.has(rel)) problems.push(`${rel}: restored but not in the snapshot (partial or temporary file?)`);
    expect(problems, `restore of ${snap.id.slice(0, 8)}\n${show(r)}`).toEqual([]);
    const anyMissing = [...snap.state.keys()].some((rel) => !got.has(rel));
    expect(
      r.code,
      `restore of ${snap.id.slice(0, 8)}: exit code must say whether everything was restored\n${show(r)}`,
    ).toBe(anyMissing ? 1 : 0);
    rmSync(target, { recursive: true, force: true });
  }
}

beforeAll(async () => {
  const t = await tempDir('lifeboat-corrupt-');
  const rng = prng(20240611);
  const data = path.join(t.dir, 'data');
  mkdirSync(path.join(data, 'notes'), { recursive: true });
  for (let i = 0; i < 6; i++)
    writeFileSync(path.join(data, `f${i}.bin`), seededBytes(rng, 300_000 + Math.floor(rng() * 900_000)));
  for (let i = 0; i < 5; i++) writeFileSync(path.join(data, 'notes', `n${i}.txt`), `note ${i}\n`.repeat(50 + i));

  const pristine = path.join(t.dir, 'pristine');
  const repo = await initRepo(pristine, PW, { packSize: 256 * 1024, chunker: { min: 16384, avg: 65536, max: 262144 } });
  await repo.close();

  const snapshots: Fixture['snapshots'] = [];
  const backup = async () => {
    const r = await cli(pristine, ['--json', 'backup', data]);
    expect(r.code, show(r)).toBe(0);
    snapshots.push({ id: lastJson<{ snapshot: { id: string } }>(r.stdout).snapshot.id, state: fileHashes(data) });
  };
  await backup();
  // Second snapshot: one file partly rewritten, one added, one removed.
  const f1 = readFileSync(path.join(data, 'f1.bin'));
  seededBytes(rng, 100_000).copy(f1, Math.floor(f1.length / 2));
  writeFileSync(path.join(data, 'f1.bin'), f1);
  writeFileSync(path.join(data, 'f6.bin'), seededBytes(rng, 500_000));
  rmSync(path.join(data, 'f5.bin'));
  await backup();

  const lib = await openRepo(pristine, PW);
  const files: Fixture['files'] = new Map();
  const blobs: Fixture['blobs'] = new Map();
  const packs: Fixture['packs'] = new Map();
  const indexOf = new Map<string, string>();
  const indexStats: Fixture['indexStats'] = new Map();
  try {
    await lib.loadIndex();
    for (const o of await lib.storage.list('index/')) {
      const ids = decodeIndexFile(await lib.readObject(o.name, 'index')).packs.map((p) => p.id);
      const name = o.name.slice('index/'.length);
      indexStats.set(name, { entries: ids.length, distinct: new Set(ids).size });
      for (const id of ids) indexOf.set(id, name);
    }
    for (const loc of lib.index.entries()) {
      const key = blobKey(loc.id);
      blobs.set(key, { pack: loc.packId, offset: loc.offset, length: loc.length, type: loc.type });
      const p = packs.get(loc.packId) ?? { size: lib.index.packSize(loc.packId)!, blobs: [] };
      p.blobs.push({ key, offset: loc.offset, length: loc.length });
      packs.set(loc.packId, p);
    }
    const listed = (await lib.listSnapshots()).snapshots;
    for (const s of snapshots) {
      const perFile = new Map<string, string[]>();
      for (const [p, n] of await snapshotNodes(
        lib,
        listed.find((x) => x.id === s.id)!,
      )) {
        if (n.type === 'file')
          perFile.set(
            p,
            (n.content ?? []).map((c) => blobKey(Buffer.from(c, 'hex'))),
          );
      }
      files.set(s.id, perFile);
    }
  } finally {
    await lib.close();
  }
  for (const p of packs.values()) p.blobs.sort((a, b) => a.offset - b.offset);

  // The victim: a data pack with several blobs whose middle blob belongs to a file kept in both snapshots.
  const both = [...files.get(snapshots[0]!.id)!].filter(
    ([p, c]) => files.get(snapshots[1]!.id)!.get(p)?.join() === c.join(),
  );
  const sharedKeys = new Set(both.flatMap(([, c]) => c));
  const candidates = [...packs]
    .filter(([, p]) => p.blobs.length >= 2 && p.blobs.every((b) => blobs.get(b.key)!.type === BlobType.Data))
    .filter(([, p]) => {
      const end = p.blobs[p.blobs.length - 1]!;
      const middle = Math.floor((end.offset + end.length) / 2);
      const hit = p.blobs.find((b) => b.offset <= middle && middle < b.offset + b.length)!;
      return sharedKeys.has(hit.key);
    })
    .map(([id]) => id)
    .sort();
  expect(candidates.length, 'the fixture should spread files over several data packs').toBeGreaterThan(0);
  expect(packs.size).toBeGreaterThanOrEqual(8);
  const secondKeys = new Set([...files.get(snapshots[1]!.id)!.values()].flat());
  const shared = [...packs]
    .filter(([, p]) => p.blobs.every((b) => blobs.get(b.key)!.type === BlobType.Data && secondKeys.has(b.key)))
    .map(([id]) => id)
    .sort();
  expect(shared.length).toBeGreaterThan(0);
  fx = {
    dir: t.dir,
    data,
    pristine,
    snapshots,
    files,
    blobs,
    packs,
    victim: candidates[0]!,
    victimShared: shared[0]!,
    indexOf,
    indexStats,
    cleanup: t.cleanup,
  };
});

afterAll(async () => fx?.cleanup());

describe('a damaged data pack', () => {
  const damages: Array<{ name: string; apply: (pack: Buffer, blobEnd: number) => Buffer }> = [
    {
      name: 'one byte flipped in the middle',
      apply: (pack, blobEnd) => {
        const out = Buffer.from(pack);
        out[Math.floor(blobEnd / 2)]! ^= 0x5a;
        return out;
      },
    },
    { name: 'truncated by 100 bytes', apply: (pack) => pack.subarray(0, pack.length - 100) },
    { name: 'truncated to half its size', apply: (pack) => pack.subarray(0, Math.floor(pack.length / 2)) },
    {
      name: '4 KiB zero-filled in the middle',
      apply: (pack, blobEnd) => {
        const out = Buffer.from(pack);
        out.fill(0, Math.floor(blobEnd / 2), Math.floor(blobEnd / 2) + 4096);
        return out;
      },
    },
  ];

  for (const damage of damages) {
    it(`${damage.name}: check names the pack, snapshots and paths; restore never writes wrong bytes`, async () => {
      const repo = copyRepo();
      const packFile = path.join(repo, packObjectName(fx.victim));
      const original = readFileSync(packFile);
      const info = fx.packs.get(fx.victim)!;
      const blobEnd = Math.max(...info.blobs.map((b) => b.offset + b.length));
      const damaged = damage.apply(original, blobEnd);
      writeFileSync(packFile, damaged);

      const hit = changedBlobs(fx.victim, damaged);
      const sizeChanged = damaged.length !== original.length;
      // A pack of the wrong size is excluded whole; otherwise exactly the blobs whose bytes changed are bad.
      const checkAffected = filesUsing(sizeChanged ? packBlobKeys(fx.victim) : hit);
      expect(checkAffected.size, 'the damage should hit at least one file').toBeGreaterThan(0);

      const r = await cli(repo, ['--json', 'check', '--read-data']);
      expect(r.code, show(r)).toBe(1);
      const report = lastJson<Check>(r.stdout);
      expect(report.ok).toBe(false);
      expect(
        report.findings.some((f) => f.pack === fx.victim && f.severity === 'error'),
        show(r),
      ).toBe(true);
      // No other pack is blamed.
      expect(
        report.findings
          .filter((f) => f.pack && f.pack !== fx.victim && f.kind !== 'unindexed-pack')
          .map((f) => f.message),
      ).toEqual([]);
      expect(asObject(reportedAffected(report, fx.victim)), show(r)).toEqual(asObject(checkAffected));

      const text = await cli(repo, ['check', '--read-data']);
      expect(text.code).toBe(1);
      expect(text.stdout).toContain(fx.victim.slice(0, 12));
      expect(text.stdout).toMatch(/ERRORS FOUND/);

      // Restore: files using changed blobs must fail; files not touching this pack must be perfect.
      await restoreAndVerify(repo, filesUsing(hit), filesUsing(packBlobKeys(fx.victim)));
    });
  }
});

describe('missing and damaged metadata', () => {
  it('a deleted pack: check names it with the affected paths; the next backup stores the data again', async () => {
    // A pack whose every blob belongs to a file of the second snapshot: the data is still on disk,
    // so after a new backup nothing any snapshot references is lost.
    const victim = fx.victimShared;
    const affected = filesUsing(packBlobKeys(victim));
    const seenOrders = new Set<string>();
    // The master index keeps the first copy of a blob it loads, and index files are loaded in
    // listing order (random per repository copy): repeat until both orders (the old index listed
    // before and after the new one) have been exercised.
    for (let attempt = 0; attempt < 8 && seenOrders.size < 2; attempt++) {
      const repo = copyRepo();
      const indexesBefore = new Set(readdirSync(path.join(repo, 'index')));
      rmSync(path.join(repo, packObjectName(victim)));

      if (attempt === 0) {
        const r = await cli(repo, ['--json', 'check']);
        expect(r.code, show(r)).toBe(1);
        const report = lastJson<Check>(r.stdout);
        expect(report.findings.find((f) => f.kind === 'missing-pack')?.pack, show(r)).toBe(victim);
        expect(asObject(reportedAffected(report, victim))).toEqual(asObject(affected));
        await restoreAndVerify(repo, affected, affected);
      }

      // The data is still on disk (the state of the second snapshot): a new backup must upload it again.
      const b = await cli(repo, ['--json', 'backup', fx.data]);
      expect(b.code, show(b)).toBe(0);
      const sum = lastJson<{ snapshot: { id: string }; repairedPacks: number }>(b.stdout);
      expect(sum.repairedPacks).toBeGreaterThan(0);
      expect(b.stderr).toMatch(/stored again/);

      const lib = await openRepo(repo, PW);
      const listed = (await lib.storage.list('index/')).map((o) => o.name.slice('index/'.length));
      await lib.close();
      const firstNew = listed.findIndex((n) => !indexesBefore.has(n));
      const oldWithVictim = listed.findIndex((n) => indexesBefore.has(n) && fx.indexOf.get(victim) === n);
      const order = oldWithVictim < firstNew ? 'old index listed first' : 'new index listed first';
      seenOrders.add(order);

      const target = path.join(fx.dir, `restore-${++copies}`);
      const rr = await cli(repo, ['restore', sum.snapshot.id, '--target', target]);
      expect(rr.code, `(${order}) the new snapshot, whose data was just stored again, must restore\n${show(rr)}`).toBe(
        0,
      );
      expect(Object.fromEntries(fileHashes(restoredPath(target, fx.data)))).toEqual(
        Object.fromEntries(fx.snapshots[1]!.state),
      );

      // The second snapshot has exactly this content, so it is whole again too.
      const old = await cli(repo, [
        'restore',
        fx.snapshots[1]!.id,
        '--target',
        path.join(fx.dir, `restore-${++copies}`),
      ]);
      expect(
        old.code,
        `(${order}) the older snapshot with the same (re-uploaded) content should restore\n${show(old)}`,
      ).toBe(0);

      // Every blob any snapshot references exists again: check passes completely.
      const after = await cli(repo, ['--json', 'check', '--read-data']);
      expect(after.code, `(${order}) after the re-upload nothing any snapshot needs is missing\n${show(after)}`).toBe(
        0,
      );
    }
    // Each attempt picks an order at random: after 8 attempts both are seen but for a 1-in-128 chance.
    if (seenOrders.size < 2) console.warn(`deleted-pack test: only exercised "${[...seenOrders][0]}"`);
    // 8 rounds of backup, check, restore and check --read-data: about 60 s alone, far more on a loaded machine.
  }, 600_000);

  it('a deleted index file: check reports its packs as unindexed; a new backup still works', async () => {
    const repo = copyRepo();
    // Find the index file that lists the victim pack.
    const lib = await openRepo(repo, PW);
    let victimIndex = '';
    let indexedPacks: string[] = [];
    try {
      for (const o of await lib.storage.list('index/')) {
        const packs = [...new Set(decodeIndexFile(await lib.readObject(o.name, 'index')).packs.map((p) => p.id))];
        if (packs.includes(fx.victim)) {
          victimIndex = o.name;
          indexedPacks = packs;
        }
      }
    } finally {
      await lib.close();
    }
    expect(victimIndex).not.toBe('');
    rmSync(path.join(repo, victimIndex));

    const r = await cli(repo, ['--json', 'check']);
    const report = lastJson<Check>(r.stdout);
    const unindexed = report.findings.filter((f) => f.kind === 'unindexed-pack');
    expect(unindexed.every((f) => f.severity === 'warning')).toBe(true);
    expect(unindexed.map((f) => f.pack).sort(), show(r)).toEqual([...indexedPacks].sort());
    expect(report.findings.filter((f) => f.kind === 'missing-pack' || f.kind === 'pack-size')).toEqual([]);

    // The parent's directory records were in the unindexed packs: the backup reads the files again,
    // stores the records afresh and says so (exit 3).
    const b = await cli(repo, ['--json', 'backup', fx.data]);
    expect(b.code, show(b)).toBe(3);
    expect(b.stderr).toContain("the parent snapshot's record of this directory is unreadable");
    const id = lastJson<{ snapshot: { id: string } }>(b.stdout).snapshot.id;
    const target = path.join(fx.dir, `restore-${++copies}`);
    const rr = await cli(repo, ['restore', id, '--target', target]);
    expect(rr.code, show(rr)).toBe(0);
    expect(Object.fromEntries(fileHashes(restoredPath(target, fx.data)))).toEqual(
      Object.fromEntries(fx.snapshots[1]!.state),
    );
  });

  it('a garbled snapshot object: snapshots lists the others and warns; check reports it', async () => {
    const repo = copyRepo();
    const [bad, good] = fx.snapshots;
    const file = path.join(repo, 'snapshots', bad!.id);
    const bytes = readFileSync(file);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    writeFileSync(file, bytes);

    const list = await cli(repo, ['--json', 'snapshots']);
    expect(list.code, show(list)).toBe(0);
    const doc = JSON.parse(list.stdout) as { snapshots: Array<{ id: string }>; problems: Array<{ object: string }> };
    expect(doc.snapshots.map((s) => s.id)).toEqual([good!.id]);
    expect(doc.problems.map((p) => p.object)).toEqual([`snapshots/${bad!.id}`]);
    const text = await cli(repo, ['snapshots']);
    expect(text.code).toBe(0);
    expect(text.stderr).toMatch(new RegExp(`warning: .*${bad!.id.slice(0, 8)}`));
    expect(text.stdout).toContain(good!.id.slice(0, 8));

    const r = await cli(repo, ['--json', 'check']);
    expect(r.code, show(r)).toBe(1);
    const report = lastJson<Check>(r.stdout);
    expect(report.findings.filter((f) => f.kind === 'unreadable-snapshot').map((f) => f.object)).toEqual([
      `snapshots/${bad!.id}`,
    ]);

    const rr = await cli(repo, ['restore', good!.id, '--target', path.join(fx.dir, `restore-${++copies}`)]);
    expect(rr.code, show(rr)).toBe(0);
    // The repository bytes of the good snapshot are untouched by all this.
    expect(sha256File(path.join(repo, 'snapshots', good!.id))).toBe(good!.id);
    expect(readdirSync(path.join(repo, 'snapshots')).sort()).toEqual([bad!.id, good!.id].sort());
  });
});

describe('index files', () => {
  it('list each pack once', () => {
    // A backup writes intermediate index files as packs become durable and a final one at the end;
    // a pack listed twice doubles the index that every command loads into memory.
    for (const [name, st] of fx.indexStats)
      expect(st.entries, `index/${name.slice(0, 12)} lists ${st.entries} packs, ${st.distinct} distinct`).toBe(
        st.distinct,
      );
  });
});
