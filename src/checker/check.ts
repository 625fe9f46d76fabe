import { blobIdFromHex } from '../repository/format/index.js';
import { blobKey } from '../repository/index/index.js';
import type { Repository } from '../repository/repository.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import type { CheckReport, Finding } from './findings.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import { readPacks } from './read-data.js';
import { addRepairHints } from './repair-hints.js';
import { readKnownDamage, recordKnownDamage } from '../repository/known-damage.js';

/** How much `check` reads: structure only, or a share of the data; progress and stop signal. */
export interface CheckOptions {
  /** Read and authenticate data: a percentage of packs (100 = all), or undefined for structure only. */
  readDataPercent?: number;
  /** Chooses the packs for a partial read (tests make it deterministic). */
  random?: () => number;
  /** Called after each pack read with `readDataPercent` (a structure-only check reads no packs). */
  onProgress?: (p: CheckProgress) => void;
  /**
   * Stops the check at the next pack or tree: it rejects with LifeboatError `interrupted`. A check
   * writes nothing to the repository; what an interrupted read found is not recorded either.
   */
  signal?: AbortSignal;
}

/** Where a `check` reading data is: packs read so far out of those chosen. */
export interface CheckProgress {
  packsRead: number;
  packsTotal: number;
  bytesRead: number;
}

const STOPPED = 'the check did not finish (it changes nothing in the repository)';

/**
 * Verify the repository: keys, index, packs, snapshots and every tree they
 * reference; with read-data, the content too. Findings name the packs,
 * snapshots and paths affected. Never modifies the repository (no lock needed
 * beyond a shared one, so backups may run meanwhile). Everything is read from
 * storage: index files, snapshots and tree packs through a view that never
 * serves the local cache (`readingFromStorage`), packs whole with read-data.
 */
export async function check(opened: Repository, options: CheckOptions = {}): Promise<CheckReport> {
  const repo = opened.readingFromStorage();
  try {
    return await checkFromStorage(repo, options);
  } finally {
    await repo.close();
  }
}

async function checkFromStorage(repo: Repository, options: CheckOptions): Promise<CheckReport> {
  const findings: Finding[] = [];
  return repo.withLock(false, 'check', async () => {
    throwIfInterrupted(options.signal, STOPPED);
    const keys = await repo.listKeys();
    for (const k of keys) {
      if (!k.readable)
        findings.push({
          severity: 'error',
          kind: 'unreadable-key',
          object: k.name,
          message: `key file ${k.name} is damaged`,
        });
    }
    // Opened with a recovery key file, a repository may have no key slot at all: then no password opens it.
    if (!keys.some((k) => k.readable)) {
      findings.push({
        severity: 'error',
        kind: 'no-key-slot',
        message: `the repository has no readable key slot (${keys.length} in keys/): no password opens it, only a recovery key file; add one with \`lifeboat key add\``,
      });
    }
    for (const p of await repo.loadIndex()) {
      findings.push({
        severity: 'error',
        kind: 'unreadable-index',
        object: p.name,
        message: `index file ${p.name} is unreadable: ${p.error.message}`,
      });
    }
    const packs = await repo.checkPacks();
    const damaged = new Map<string, string>(); // blob key → pack id
    const packSet = new Set([...packs.missing, ...packs.wrongSize]);
    // A blob is damaged when no copy of it survives (another backup may have stored it again).
    // A missing or damaged pack whose every blob has a live copy elsewhere (stored again by a later
    // backup) loses nothing: a warning until the index is consolidated; otherwise an error.
    const lost = new Set<string>();
    for (const loc of repo.index.entries()) {
      if (packSet.has(loc.packId) && !repo.index.has(loc.id)) {
        damaged.set(blobKey(loc.id), loc.packId);
        lost.add(loc.packId);
      }
    }
    for (const id of packs.missing) {
      const severity = lost.has(id) ? 'error' : 'warning';
      findings.push({
        severity,
        kind: 'missing-pack',
        pack: id,
        message: `pack ${id.slice(0, 12)} is listed in the index but missing from storage${severity === 'warning' ? '; all its data has been stored again elsewhere' : ''}`,
      });
    }
    for (const id of packs.wrongSize) {
      const severity = lost.has(id) ? 'error' : 'warning';
      findings.push({
        severity,
        kind: 'pack-size',
        pack: id,
        message: `pack ${id.slice(0, 12)} has a different size than the index records (truncated or damaged)${severity === 'warning' ? '; all its data has been stored again elsewhere' : ''}`,
      });
    }
    for (const id of packs.unindexed)
      findings.push({
        severity: 'warning',
        kind: 'unindexed-pack',
        pack: id,
        message: `pack ${id.slice(0, 12)} is in no index (left by an interrupted backup; prune removes it)`,
      });

    // Damage an earlier `check --read-data` found on this machine stays reported until that pack is read again
    // or the data has an intact copy elsewhere: a structure-only check must not call it healthy.
    const known = new Map<string, string>();
    for (const c of await readKnownDamage(repo.cache)) {
      const id = blobIdFromHex(c.blob);
      // Lost unless another usable copy exists (asked with the damaged copy set aside for a moment).
      const wasMarked = repo.index.isDamaged(id, c.pack);
      repo.index.markDamaged(id, c.pack);
      if (!repo.index.has(id) && repo.index.packSize(c.pack) !== undefined && !packSet.has(c.pack))
        known.set(blobKey(id), c.pack);
      if (!wasMarked) repo.index.clearDamaged(id, c.pack);
    }
    for (const [k, v] of known) damaged.set(k, v);

    let packsRead = 0;
    let bytesRead = 0;
    if (options.readDataPercent !== undefined) {
      const healthy = repo.index.packIds().filter((id) => !packSet.has(id));
      const chosen = choosePacks(healthy, options.readDataPercent, options.random ?? Math.random);
      const read = await readPacks(repo, chosen, findings, (bytes) => {
        throwIfInterrupted(options.signal, STOPPED);
        packsRead++;
        bytesRead += bytes;
        options.onProgress?.({ packsRead, packsTotal: chosen.length, bytesRead });
      });
      throwIfInterrupted(options.signal, STOPPED);
      // A pack read now is judged by this read alone.
      const readNow = new Set(chosen);
      for (const [k, v] of known) if (readNow.has(v) && !read.damaged.has(k)) damaged.delete(k);
      for (const [k, v] of read.damaged) damaged.set(k, v);
      // Remembered locally, so the next backup stores these blobs again instead of deduplicating against them.
      await recordKnownDamage(
        repo.cache,
        chosen,
        [...read.damaged].map(([key, pack]) => ({ blob: Buffer.from(key, 'latin1').toString('hex'), pack })),
      );
    }

    const { snapshots, problems } = await repo.listSnapshots();
    for (const p of problems)
      findings.push({
        severity: 'error',
        kind: 'unreadable-snapshot',
        object: p.name,
        message: `snapshot ${p.name} is unreadable: ${p.error.message}`,
      });
    const needed = await attributeDamage(repo, snapshots, damaged, findings, options.signal);
    settleUnneededLosses(findings, needed);
    addRepairHints(findings);
    return {
      ok: !findings.some((f) => f.severity === 'error'),
      snapshots: snapshots.length,
      packs: repo.index.packCount,
      blobs: repo.index.blobCount,
      packsRead,
      bytesRead,
      findings,
    };
  });
}

function choosePacks(ids: string[], percent: number, random: () => number): string[] {
  if (percent >= 100) return ids;
  const count = Math.max(ids.length ? 1 : 0, Math.ceil((ids.length * percent) / 100));
  const shuffled = [...ids];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled.slice(0, count);
}

/**
 * Walk every snapshot's trees and name the files and directories that use a
 * damaged or unknown blob. Results are memoised per tree, so shared subtrees
 * are walked once.
 */
async function attributeDamage(
  repo: Repository,
  snapshots: SnapshotEntry[],
  damaged: Map<string, string>,
  findings: Finding[],
  signal: AbortSignal | undefined,
): Promise<Set<string>> {
  const memo = new Map<string, Array<{ path: string; pack?: string; reason: string }>>();
  const walk = async (treeId: string): Promise<Array<{ path: string; pack?: string; reason: string }>> => {
    const known = memo.get(treeId);
    if (known) return known;
    throwIfInterrupted(signal, STOPPED);
    const out: Array<{ path: string; pack?: string; reason: string }> = [];
    const treeKey = blobKey(blobIdFromHex(treeId));
    try {
      if (damaged.has(treeKey)) throw new Error(`tree is stored in damaged pack ${damaged.get(treeKey)!.slice(0, 12)}`);
      const tree = await repo.loadTree(treeId);
      for (const node of tree.nodes) {
        const name = String(node.name);
        if (node.type === 'dir' && node.subtree) {
          for (const hit of await walk(node.subtree))
            out.push({ ...hit, path: `${name}/${hit.path}`.replace(/\/$/, '') });
        }
        for (const id of node.content ?? []) {
          const key = blobKey(blobIdFromHex(id));
          const pack = damaged.get(key);
          if (pack) {
            out.push({ path: name, pack, reason: 'damaged' });
            break;
          }
          if (!repo.index.hasKey(key)) {
            out.push({ path: name, reason: 'missing' });
            break;
          }
        }
      }
    } catch (err) {
      if (signal?.aborted) throw err; // a subtree's interruption, not damage
      out.push({
        path: '',
        reason: `unreadable tree ${treeId.slice(0, 12)}: ${(err as Error).message}`,
        ...(damaged.has(treeKey) ? { pack: damaged.get(treeKey)! } : {}),
      });
    }
    memo.set(treeId, out);
    return out;
  };

  const byPack = new Map<string, Map<string, string[]>>();
  const missing = new Map<string, string[]>();
  const trees = new Map<string, string[]>();
  const needed = new Set<string>();
  for (const s of snapshots) {
    for (const hit of await walk(s.tree)) {
      const p = '/' + hit.path;
      if (hit.pack) needed.add(hit.pack);
      if (hit.reason.startsWith('unreadable tree')) {
        trees.set(s.id, [...(trees.get(s.id) ?? []), `${p}: ${hit.reason}`]);
      } else if (hit.pack) {
        const perSnap = byPack.get(hit.pack) ?? new Map<string, string[]>();
        perSnap.set(s.id, [...(perSnap.get(s.id) ?? []), p]);
        byPack.set(hit.pack, perSnap);
      } else missing.set(s.id, [...(missing.get(s.id) ?? []), p]);
    }
  }
  for (const [pack, perSnap] of byPack) {
    const affected = [...perSnap].map(([snapshot, paths]) => ({ snapshot, paths }));
    findings.push({
      severity: 'error',
      kind: 'corrupt-blob',
      pack,
      affected,
      message: `damaged data in pack ${pack.slice(0, 12)} affects ${affected.length} snapshot(s): ${summarise(affected)}`,
    });
  }
  for (const [snapshot, paths] of missing) {
    findings.push({
      severity: 'error',
      kind: 'missing-blob',
      affected: [{ snapshot, paths }],
      message: `snapshot ${snapshot.slice(0, 8)} references data that is in no pack: ${paths.slice(0, 5).join(', ')}`,
    });
  }
  for (const [snapshot, paths] of trees) {
    findings.push({
      severity: 'error',
      kind: 'unreadable-tree',
      affected: [{ snapshot, paths }],
      message: `snapshot ${snapshot.slice(0, 8)} has unreadable directories: ${paths.slice(0, 3).join('; ')}`,
    });
  }
  return needed;
}

/**
 * A lost pack whose lost data no snapshot references (e.g. after `repair
 * snapshots --forget`) costs nothing anyone can restore: a warning, until
 * `repair index` or `prune` drops it from the index.
 */
function settleUnneededLosses(findings: Finding[], needed: Set<string>): void {
  for (const f of findings) {
    if (
      (f.kind === 'missing-pack' || f.kind === 'pack-size') &&
      f.severity === 'error' &&
      f.pack &&
      !needed.has(f.pack)
    ) {
      f.severity = 'warning';
      f.message += '; no snapshot references the data lost with it';
      f.hint = '`lifeboat repair index` drops it from the index';
    }
  }
}

function summarise(affected: Array<{ snapshot: string; paths: string[] }>): string {
  return affected
    .slice(0, 3)
    .map((a) => `${a.snapshot.slice(0, 8)} (${a.paths.slice(0, 3).join(', ')}${a.paths.length > 3 ? ', …' : ''})`)
    .join('; ');
}
