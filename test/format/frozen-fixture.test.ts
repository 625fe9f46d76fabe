import { createHash } from 'node:crypto';
import { chmodSync, cpSync, lstatSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.js';
import { cliEnvFor } from '../helpers/e2e.js';

/**
 * Frozen format fixtures: repositories written once, by the format version of
 * their directory name (test/fixtures/format-v<N>/), and committed as they came
 * out (see the README there).
 *
 * Every future format version must still pass this test on every fixture: the
 * current code lists the fixture's snapshots, finds nothing wrong with
 * `check --read-data`, restores each snapshot byte for byte with its modes,
 * times, symlinks and hard links, and diffs the two snapshots as recorded. A new
 * format version adds a new fixture next to the existing ones (with
 * scripts/make-format-fixture.mjs); it never replaces or edits one.
 *
 * The committed files are never touched: each test works on a copy in a temp
 * dir, and the first test checks that the fixture files still have the SHA-256
 * recorded in FILES.sha256, so that no one regenerates a fixture by accident.
 */

const FIXTURES = path.join(ROOT, 'test/fixtures');
const fixtureNames = readdirSync(FIXTURES)
  .filter((n) => /^format-v\d+$/.test(n))
  .sort();

interface ExpectedEntry {
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode?: string;
  mtimeNs: string;
  size?: number;
  sha256?: string;
  target?: string;
  sameFileAs?: string;
}

interface Expected {
  formatVersion: number;
  host: string;
  sourcePath: string;
  snapshots: Array<{ id: string; parent?: string; tags: string[]; entries: ExpectedEntry[] }>;
  diff: Array<{ path: string; change: string }>;
}

/** Every file of a directory, as `/`-separated paths relative to it. */
function filesBelow(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true }).flatMap((e) => {
    const p = rel === '' ? e.name : `${rel}/${e.name}`;
    return e.isDirectory() ? filesBelow(dir, p) : [p];
  });
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** A restored tree described the way expected.json describes the backed-up one. */
function describeTree(dir: string): ExpectedEntry[] {
  const entries: ExpectedEntry[] = [];
  const firstName = new Map<bigint, string>();
  const walk = (rel: string) => {
    const p = rel === '' ? dir : path.join(dir, rel);
    const st = lstatSync(p, { bigint: true });
    const mode = (st.mode & 0o7777n).toString(8).padStart(4, '0');
    const mtimeNs = st.mtimeNs.toString();
    if (st.isDirectory()) {
      entries.push({ path: rel, mode, mtimeNs, type: 'dir' });
      for (const name of readdirSync(p).sort()) walk(rel === '' ? name : `${rel}/${name}`);
    } else if (st.isSymbolicLink()) {
      entries.push({ path: rel, type: 'symlink', target: readlinkSync(p), mtimeNs });
    } else if (st.isFile()) {
      const content = readFileSync(p);
      const entry: ExpectedEntry = {
        path: rel,
        mode,
        mtimeNs,
        type: 'file',
        size: content.length,
        sha256: sha256(content),
      };
      if (st.nlink > 1n) {
        const first = firstName.get(st.ino);
        if (first === undefined) firstName.set(st.ino, rel);
        else entry.sameFileAs = first;
      }
      entries.push(entry);
    } else {
      throw new Error(`restore made something that is neither file, directory nor symlink: ${p}`);
    }
  };
  walk('');
  return entries;
}

describe.each(fixtureNames)('frozen format fixture %s', (name) => {
  const fixture = path.join(FIXTURES, name);
  const expected = JSON.parse(readFileSync(path.join(fixture, 'expected.json'), 'utf8')) as Expected;
  let work: { dir: string; cleanup: () => Promise<void> };
  let repo: string;
  let env: Record<string, string | undefined>;
  let keyFile: string;

  beforeAll(async () => {
    work = await tempDir('lifeboat-format-fixture-');
    repo = path.join(work.dir, 'repository');
    cpSync(path.join(fixture, 'repository'), repo, { recursive: true });
    // Copies with mode 0600: a secret file others can read only earns a warning, but keep the output clean.
    const passwordFile = path.join(work.dir, 'password.txt');
    writeFileSync(passwordFile, readFileSync(path.join(fixture, 'password.txt')));
    chmodSync(passwordFile, 0o600);
    keyFile = path.join(work.dir, 'recovery-key.txt');
    writeFileSync(keyFile, readFileSync(path.join(fixture, 'recovery-key.txt')));
    chmodSync(keyFile, 0o600);
    env = cliEnvFor(path.join(work.dir, 'cache'), undefined, { LIFEBOAT_PASSWORD_FILE: passwordFile });
  });
  afterAll(async () => {
    await work?.cleanup();
  });

  it('is the committed fixture, byte for byte (FILES.sha256 lists every file but itself and the README)', () => {
    const recorded = new Map(
      readFileSync(path.join(fixture, 'FILES.sha256'), 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(l);
          if (!m) throw new Error(`FILES.sha256: malformed line ${JSON.stringify(l)}`);
          return [m[2]!, m[1]!] as const;
        }),
    );
    const actual = new Map(
      filesBelow(fixture)
        .filter((f) => f !== 'FILES.sha256' && f !== 'README.md')
        .sort()
        .map((f) => [f, sha256(readFileSync(path.join(fixture, f)))] as const),
    );
    expect(recorded.size).toBeGreaterThan(0);
    expect(Object.fromEntries(actual)).toEqual(Object.fromEntries(recorded));
    expect(expected.formatVersion).toBe(Number(name.slice('format-v'.length)));
  });

  it('lists its snapshots, with their parent, host, tags and paths', async () => {
    const r = await runCli(['snapshots', '--repo', repo, '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as {
      snapshots: Array<{ id: string; parent?: string; host: string; tags: string[]; paths: string[] }>;
      problems: unknown[];
    };
    expect(out.problems).toEqual([]);
    expect(
      out.snapshots.map((s) => ({ id: s.id, parent: s.parent, host: s.host, tags: s.tags, paths: s.paths })),
    ).toEqual(
      expected.snapshots.map((s) => ({
        id: s.id,
        parent: s.parent,
        host: expected.host,
        tags: s.tags,
        paths: [expected.sourcePath],
      })),
    );
  });

  it('opens with its recovery key as well as its password', async () => {
    const r = await runCli(['snapshots', '--repo', repo, '--json', '--key-file', keyFile], {
      env: { ...env, LIFEBOAT_PASSWORD_FILE: undefined },
    });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { snapshots: Array<{ id: string }> }).snapshots.map((s) => s.id)).toEqual(
      expected.snapshots.map((s) => s.id),
    );
  });

  it('passes check --read-data with no finding, every pack and blob read', async () => {
    const r = await runCli(['check', '--repo', repo, '--read-data', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      ok: boolean;
      snapshots: number;
      packs: number;
      packsRead: number;
      findings: unknown[];
    };
    expect(summary).toMatchObject({ ok: true, snapshots: expected.snapshots.length, findings: [] });
    expect(summary.packsRead).toBe(summary.packs);
    expect(summary.packs).toBe(filesBelow(path.join(fixture, 'repository', 'data')).length);
  });

  it('restores every snapshot byte for byte, with modes, times, symlinks and hard links', async () => {
    for (const snapshot of expected.snapshots) {
      const target = path.join(work.dir, `restore-${snapshot.id.slice(0, 8)}`);
      const r = await runCli(['restore', '--repo', repo, '--json', '--target', target, snapshot.id], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(describeTree(path.join(target, expected.sourcePath)), `snapshot ${snapshot.id}`).toEqual(snapshot.entries);
    }
  });

  it('diffs the two snapshots as recorded', async () => {
    const [a, b] = expected.snapshots;
    const r = await runCli(['diff', '--repo', repo, '--json', '--metadata', a!.id, b!.id], { env });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { changes: Array<{ path: string; change: string }> };
    expect(out.changes).toEqual(
      expected.diff.map((c) => ({ path: `${expected.sourcePath}/${c.path}`, change: c.change })),
    );
  });
});
