import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { startCli, type CliOptions } from './cli.js';

/**
 * Extra helpers for the end-to-end and fault tests (the functions in cli.ts are
 * left as they are). Everything here is synchronous-or-simple on purpose: the
 * oracles must be obviously right.
 */

/** Variables that could leak in from the developer's shell and change how the CLI finds secrets. */
const SECRET_VARS = [
  'LIFEBOAT_PASSWORD',
  'LIFEBOAT_PASSWORD_FILE',
  'LIFEBOAT_PASSWORD_COMMAND',
  'LIFEBOAT_NEW_PASSWORD',
  'LIFEBOAT_NEW_PASSWORD_FILE',
  'LIFEBOAT_NEW_PASSWORD_COMMAND',
  'LIFEBOAT_KEY_FILE',
  'LIFEBOAT_REPOSITORY',
  'LIFEBOAT_CONFIG',
];

/**
 * A CLI environment: a private cache dir, and the password (unless `password`
 * is undefined). Every other secret variable is cleared unless given in `extra`.
 */
export function cliEnvFor(
  cacheDir: string,
  password: string | undefined,
  extra: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {};
  for (const k of SECRET_VARS) env[k] = undefined;
  env.LIFEBOAT_CACHE_DIR = cacheDir;
  env.LIFEBOAT_PASSWORD = password;
  return { ...env, ...extra };
}

export interface BinaryResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Like runCli, but stdout is kept as bytes (for `dump`). */
export function runCliBinary(args: string[], options: CliOptions = {}): Promise<BinaryResult> {
  return new Promise((resolve, reject) => {
    const child = startCli(args, options);
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => out.push(d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: Buffer.concat(out), stderr });
    });
    child.stdin!.end(options.input ?? '');
  });
}

/** Every non-empty stdout line parsed as JSON (throws on any line that is not JSON). */
export function jsonLines(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`stdout line ${i + 1} is not JSON: ${JSON.stringify(l.slice(0, 200))}`);
      }
    });
}

/** A small, fast, seedable PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` pseudo-random bytes from a seeded generator (incompressible, reproducible). */
export function seededBytes(rng: () => number, n: number): Buffer {
  const buf = Buffer.allocUnsafe(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) buf.writeUInt32LE(Math.floor(rng() * 4294967296), i);
  for (; i < n; i++) buf[i] = Math.floor(rng() * 256);
  return buf;
}

const WORDS =
  'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(
    ' ',
  );

/** `n` bytes of compressible but non-repeating text. */
export function seededText(rng: () => number, n: number): Buffer {
  const parts: string[] = [];
  let size = 0;
  let line = 0;
  while (size < n) {
    const words: string[] = [`${line++}`];
    for (let w = 0; w < 12; w++) words.push(WORDS[Math.floor(rng() * WORDS.length)]!);
    const s = words.join(' ') + '\n';
    parts.push(s);
    size += s.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

/** The seed of a randomised test: $LIFEBOAT_TEST_SEED, or a fresh one. */
export function testSeed(): number {
  const fromEnv = process.env.LIFEBOAT_TEST_SEED;
  if (fromEnv && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  return Math.floor(Math.random() * 2 ** 31);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function sha256File(p: string): string {
  return sha256(readFileSync(p));
}

export interface EntryInfo {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  uid: number;
  gid: number;
  mtimeNs: bigint;
  size: number;
  ino: number;
  nlink: number;
  sha256?: string;
  target?: string;
}

/**
 * A map of every entry under `root` (relative POSIX paths, root itself excluded)
 * with its type, metadata and content hash.
 */
export function scanTree(root: string): Map<string, EntryInfo> {
  const out = new Map<string, EntryInfo>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(full, { bigint: true });
      const base = {
        mode: Number(st.mode) & 0o7777,
        uid: Number(st.uid),
        gid: Number(st.gid),
        mtimeNs: st.mtimeNs,
        size: Number(st.size),
        ino: Number(st.ino),
        nlink: Number(st.nlink),
      };
      if (st.isDirectory()) {
        out.set(r, { ...base, type: 'dir' });
        walk(full, r);
      } else if (st.isSymbolicLink()) out.set(r, { ...base, type: 'symlink', target: readlinkSync(full) });
      else if (st.isFile()) out.set(r, { ...base, type: 'file', sha256: sha256File(full) });
      else out.set(r, { ...base, type: 'other' });
    }
  };
  walk(root, '');
  return out;
}

export interface CompareOptions {
  /** Compare uid/gid too (restores set them when running as root). */
  owners?: boolean;
  /** Allowed mtime difference in nanoseconds (default: under 1 ms). */
  mtimeToleranceNs?: bigint;
  /** Skip mtime checks for directories (their mtime changes when the test itself writes into them). */
  skipDirMtime?: boolean;
}

/**
 * Differences between a source tree and its restored copy: content, type,
 * mode, mtime, symlink targets, and hardlink groups (entries sharing an inode in
 * the source must share one in the copy). Returns human-readable problems.
 */
export function compareTrees(
  source: Map<string, EntryInfo>,
  restored: Map<string, EntryInfo>,
  options: CompareOptions = {},
): string[] {
  const problems: string[] = [];
  const tolerance = options.mtimeToleranceNs ?? 1_000_000n;
  for (const [p, s] of source) {
    const r = restored.get(p);
    if (!r) {
      problems.push(`${p}: missing from the restore`);
      continue;
    }
    if (r.type !== s.type) {
      problems.push(`${p}: type ${r.type}, expected ${s.type}`);
      continue;
    }
    if (s.type === 'file' && r.sha256 !== s.sha256) problems.push(`${p}: content differs`);
    if (s.type === 'symlink' && r.target !== s.target)
      problems.push(`${p}: symlink target ${r.target}, expected ${s.target}`);
    if (s.type !== 'symlink' && r.mode !== s.mode)
      problems.push(`${p}: mode ${r.mode.toString(8)}, expected ${s.mode.toString(8)}`);
    if (options.owners && (r.uid !== s.uid || r.gid !== s.gid))
      problems.push(`${p}: owner ${r.uid}:${r.gid}, expected ${s.uid}:${s.gid}`);
    if (!(s.type === 'dir' && options.skipDirMtime)) {
      const d = r.mtimeNs - s.mtimeNs;
      if (d >= tolerance || -d >= tolerance)
        problems.push(`${p}: mtime ${r.mtimeNs}, expected ${s.mtimeNs} (off by ${d} ns)`);
    }
  }
  for (const p of restored.keys()) if (!source.has(p)) problems.push(`${p}: restored but not in the source`);
  // Hardlink groups.
  const groups = new Map<number, string[]>();
  for (const [p, s] of source)
    if (s.type === 'file' && s.nlink > 1) groups.set(s.ino, [...(groups.get(s.ino) ?? []), p]);
  for (const members of groups.values()) {
    if (members.length < 2) continue;
    const inodes = new Set(members.map((m) => restored.get(m)?.ino));
    if (inodes.size !== 1) problems.push(`hardlinks ${members.join(', ')} do not share one inode in the restore`);
  }
  return problems;
}

/** Just the content of the regular files under a root: relative path → sha256. */
export function fileHashes(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [p, e] of scanTree(root)) if (e.type === 'file') out.set(p, e.sha256!);
  return out;
}

/** The directory inside a restore target where an absolute source path lands (snapshots mirror absolute paths). */
export function restoredPath(target: string, sourcePath: string): string {
  return path.join(target, ...path.resolve(sourcePath).split('/').filter(Boolean));
}
