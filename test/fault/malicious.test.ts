import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobType, type TreeNode } from '../../src/repository/format/index.js';
import { Packer } from '../../src/repository/packer.js';
import type { Repository } from '../../src/repository/repository.js';
import { runCli, tempDir, type CliResult } from '../helpers/cli.js';
import { cliEnvFor, scanTree, sha256 } from '../helpers/e2e.js';
import { initRepo } from '../helpers/repo-lib.js';

/**
 * The restore guarantee: "A restore never writes outside its target and refuses entries that
 * would (`../`, absolute paths, symlink escapes)." Trees in a repository are
 * untrusted input: these snapshots are crafted with the library (as an attacker
 * holding the repository key could) and restored with the CLI. For each: the
 * restore fails (non-zero), names the bad entry, creates or changes nothing
 * outside the target, and still restores the good entries.
 */

const PW = 'malicious test password';
const uid = process.getuid?.() ?? 0;
const gid = process.getgid?.() ?? 0;
const MTIME = '1700000000000000000';

interface Case {
  name: string;
  /** The bad entries, next to the good ones in the snapshot's root. */
  build: (b: Builder) => Promise<TreeNode[]>;
  /** Paths (inside the snapshot) the restore must name on stderr. */
  named: string[];
  /** Prepare the target before the restore (pre-existing symlinks). */
  prepare?: (target: string) => void;
  /** Extra checks on the target afterwards. */
  verify?: (target: string) => void;
  /** A case whose snapshot has nothing bad in it: the restore must succeed. */
  benign?: boolean;
  /** Do not compare link counts outside the target. */
  ignoreLinkCount?: boolean;
}

/** Builds tree and file nodes into the repository the way the archiver does. */
class Builder {
  constructor(
    readonly repo: Repository,
    readonly packer: Packer,
  ) {}

  async file(name: string, content: string): Promise<TreeNode> {
    const data = Buffer.from(content);
    const sealed = this.repo.sealOnMain(data);
    await this.packer.add(BlobType.Data, sealed.id, sealed.sealed, sealed.rawLength);
    return {
      name,
      type: 'file',
      mode: 0o644,
      uid,
      gid,
      mtimeNs: MTIME,
      size: data.length,
      content: [sealed.id.toString('hex')],
    };
  }

  async dir(name: string, nodes: TreeNode[]): Promise<TreeNode> {
    return { name, type: 'dir', mode: 0o755, uid, gid, mtimeNs: MTIME, subtree: await this.tree(nodes) };
  }

  symlink(name: string, target: string): TreeNode {
    return { name, type: 'symlink', mode: 0o777, uid, gid, mtimeNs: MTIME, target };
  }

  hardlink(name: string, target: string): TreeNode {
    return { name, type: 'hardlink', mode: 0o644, uid, gid, mtimeNs: MTIME, target };
  }

  async tree(nodes: TreeNode[]): Promise<string> {
    const sealed = this.repo.sealOnMain(this.repo.encodeTree({ nodes }));
    await this.packer.add(BlobType.Tree, sealed.id, sealed.sealed, sealed.rawLength);
    return sealed.id.toString('hex');
  }
}

let base: string; // everything outside the repository: <base>/x/y/target-*, <base>/outside, <base>/victim
let outside: string;
let victim: string;
let repoDir: string;
let cacheDir: string;
let cleanups: Array<() => Promise<void>> = [];
const snapshotOf = new Map<string, string>();
const etcName = `/etc/lifeboat-malicious-${randomBytes(4).toString('hex')}`;

const CASES: Case[] = [
  {
    name: 'a directory named ".."',
    build: async (b) => [await b.dir('..', [await b.file('escaped-dotdot.txt', 'escaped via ..\n')])],
    named: ['/..'],
  },
  {
    name: 'a file named "../../escape"',
    build: async (b) => [await b.file('../../escape', 'escaped via ../../\n')],
    named: ['/../../escape'],
  },
  {
    name: 'a name with "/" in it',
    build: async (b) => [await b.file('gooddir/../../slash-escape', 'escaped via a slash\n')],
    named: ['/gooddir/../../slash-escape'],
  },
  {
    name: 'an absolute-looking name',
    build: async (b) => [await b.file(etcName, 'written to /etc\n')],
    named: [`/${etcName}`], // shown as the root "/" joined with the name
  },
  {
    name: 'a name with a NUL byte, ".", and an empty name',
    build: async (b) => [
      await b.file('nul\0name', 'nul\n'),
      await b.dir('.', [await b.file('dot-file', 'escaped via .\n')]),
      await b.file('', 'escaped via an empty name\n'),
    ],
    // printed with the NUL escaped: file names never reach the terminal with control characters
    named: ['/nul\\x00name', '/.', '/:'],
  },
  {
    name: 'a duplicate name: symlink "a" to outside, then a directory "a" with a file',
    build: async (b) => [
      b.symlink('a', path.join(outside, 'a-target')),
      await b.dir('a', [await b.file('file', 'escaped through the symlink\n')]),
    ],
    named: ['/a'],
  },
  {
    name: 'a duplicate name: directory "a" with a file, then a symlink "a" to outside',
    build: async (b) => [await b.dir('a', [await b.file('file', 'in a real dir\n')]), b.symlink('a', outside)],
    named: ['/a'],
  },
  {
    name: 'a symlink "link" to the outside directory and a directory entry "link/file"',
    build: async (b) => [
      b.symlink('link', outside),
      await b.dir('link', [await b.file('file', 'escaped through the link\n')]),
    ],
    named: ['/link'],
  },
  {
    name: 'a hardlink to /etc/passwd',
    build: async (b) => [b.hardlink('hl', '/etc/passwd')],
    named: ['/hl'],
  },
  {
    name: 'a hardlink to a symlink that points outside',
    build: async (b) => [b.symlink('sl', '/etc/passwd'), b.hardlink('hl', '/sl')],
    named: ['/hl'],
  },
  {
    name: 'a hardlink whose target walks up with ".."',
    build: async (b) => [b.hardlink('hl', '/gooddir/../../../etc/passwd')],
    named: ['/hl'],
  },
  {
    name: 'a symlink already at the destination of a directory',
    build: async (b) => [await b.dir('dir', [await b.file('file', 'escaped through a pre-existing symlink\n')])],
    named: ['/dir'],
    prepare: (target) => symlinkSync(outside, path.join(target, 'dir')),
  },
  {
    name: 'a symlink already at the destination of a directory with a subdirectory (nothing made through it)',
    build: async (b) => [
      await b.dir('deep', [
        await b.dir('sub', [await b.file('file', 'escaped through a pre-existing symlink, one level down\n')]),
      ]),
    ],
    named: ['/deep'],
    prepare: (target) => symlinkSync(outside, path.join(target, 'deep')),
  },
  {
    name: 'a symlink already at the destination of a file (replaced, not written through)',
    build: async () => [],
    named: [],
    benign: true,
    prepare: (target) => symlinkSync(path.join(victim, 'victim.txt'), path.join(target, 'good.txt')),
    verify: (target) => {
      expect(lstatSync(path.join(target, 'good.txt')).isFile()).toBe(true);
      expect(readFileSync(path.join(target, 'good.txt'), 'utf8')).toBe('good\n');
    },
  },
  {
    name: 'a hardlink to an outside file already at the destination of a file (replaced, not written through)',
    build: async () => [],
    named: [],
    benign: true,
    // Unlinking the name in the target legitimately lowers the outside file's link count.
    ignoreLinkCount: true,
    prepare: (target) => linkSync(path.join(victim, 'victim.txt'), path.join(target, 'good.txt')),
    verify: (target) => {
      expect(statSync(path.join(target, 'good.txt')).ino).not.toBe(statSync(path.join(victim, 'victim.txt')).ino);
      expect(readFileSync(path.join(target, 'good.txt'), 'utf8')).toBe('good\n');
    },
  },
];

/** Everything under <base> except the target: path → type, content, link target, link count. */
function outsideState(exclude: string, linkCounts = true): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [p, e] of scanTree(base)) {
    const abs = path.join(base, p);
    if (abs === exclude || abs.startsWith(exclude + '/')) continue;
    out[p] = `${e.type} ${e.sha256 ?? ''} ${e.target ?? ''} ${e.type === 'file' && linkCounts ? e.nlink : ''}`;
  }
  return out;
}

beforeAll(async () => {
  const b1 = await tempDir('lifeboat-mal-base-');
  const b2 = await tempDir('lifeboat-mal-repo-');
  cleanups = [b1.cleanup, b2.cleanup];
  base = b1.dir;
  outside = path.join(base, 'outside');
  victim = path.join(base, 'victim');
  mkdirSync(outside);
  mkdirSync(victim);
  writeFileSync(path.join(victim, 'victim.txt'), 'original\n');
  mkdirSync(path.join(base, 'x', 'y'), { recursive: true });
  repoDir = path.join(b2.dir, 'repo');
  cacheDir = path.join(b2.dir, 'cache');

  const repo = await initRepo(repoDir, PW);
  try {
    const packer = new Packer({
      storage: repo.storage,
      encryptionKey: repo.keys.encryption,
      index: repo.index,
      packSize: repo.config.packSize,
    });
    const b = new Builder(repo, packer);
    const roots = new Map<string, string>();
    for (const c of CASES) {
      const good = [
        await b.file('good.txt', 'good\n'),
        await b.dir('gooddir', [await b.file('inner.txt', 'inner\n')]),
        b.hardlink('good-link', '/good.txt'),
      ];
      roots.set(c.name, await b.tree([...good, ...(await c.build(b))]));
    }
    await packer.flush();
    await repo.saveIndex(packer.takeStoredPacks());
    let n = 0;
    for (const c of CASES) {
      const id = await repo.saveSnapshot({
        version: 1,
        time: new Date(Date.UTC(2024, 0, 1, 0, 0, n++)).toISOString(),
        host: 'attacker',
        username: 'mallory',
        paths: ['/malicious'],
        tags: [],
        reason: c.name,
        tree: roots.get(c.name)!,
        summary: {
          files: 2,
          dirs: 1,
          bytes: 10,
          filesRead: 2,
          addedBytes: 10,
          addedStoredBytes: 10,
          durationMs: 1,
          errors: 0,
        },
        program: 'crafted by a test',
        metadata: {},
      });
      snapshotOf.set(c.name, id);
    }
  } finally {
    await repo.close();
  }
});

afterAll(async () => {
  if (existsSync(etcName)) rmSync(etcName, { recursive: true, force: true });
  for (const c of cleanups) await c();
});

function restore(id: string, target: string): Promise<CliResult> {
  return runCli(['--repo', repoDir, 'restore', id, '--target', target], { env: cliEnvFor(cacheDir, PW) });
}

describe('restore of a malicious snapshot', () => {
  let counter = 0;
  for (const c of CASES) {
    it(`${c.name}: ${c.benign ? 'nothing outside is touched' : 'refused and named, nothing outside is touched, good entries restored'}`, async () => {
      const target = path.join(base, 'x', 'y', `target-${++counter}`);
      mkdirSync(target);
      c.prepare?.(target);
      const before = outsideState(target, !c.ignoreLinkCount);
      const passwd = { hash: sha256(readFileSync('/etc/passwd')), nlink: statSync('/etc/passwd').nlink };

      const r = await restore(snapshotOf.get(c.name)!, target);
      const shown = `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

      // Nothing outside the target was created or changed.
      expect(outsideState(target, !c.ignoreLinkCount), shown).toEqual(before);
      expect(readdirSync(outside), shown).toEqual([]);
      expect(readFileSync(path.join(victim, 'victim.txt'), 'utf8')).toBe('original\n');
      expect(sha256(readFileSync('/etc/passwd'))).toBe(passwd.hash);
      expect(statSync('/etc/passwd').nlink, 'a hard link to /etc/passwd was made').toBe(passwd.nlink);
      expect(existsSync(etcName), shown).toBe(false);
      expect(existsSync(path.join(path.dirname(base), 'escape'))).toBe(false);

      if (c.benign) expect(r.code, shown).toBe(0);
      else {
        expect(r.code, shown).not.toBe(0);
        expect(r.code, shown).not.toBeNull();
        for (const p of c.named)
          expect(r.stderr, `the bad entry ${JSON.stringify(p)} is not named\n${shown}`).toContain(`error: ${p}`);
      }

      // The good entries are restored.
      expect(readFileSync(path.join(target, 'good.txt'), 'utf8'), shown).toBe('good\n');
      expect(readFileSync(path.join(target, 'gooddir', 'inner.txt'), 'utf8'), shown).toBe('inner\n');
      expect(statSync(path.join(target, 'good-link')).ino).toBe(statSync(path.join(target, 'good.txt')).ino);
      // Whatever was restored stays inside the target and is what the snapshot says.
      for (const [p, e] of scanTree(target)) {
        if (e.type === 'file')
          expect(readFileSync(path.join(target, p), 'utf8'), p).not.toMatch(/escaped|written to \/etc/);
      }
      c.verify?.(target);
    });
  }
});
