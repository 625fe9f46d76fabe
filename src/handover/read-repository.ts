import { openConfiguredRepository } from '../config/repository-access.js';
import type { RepositoryConfig } from '../config/schema.js';
import { listDrillReports } from '../drill/store.js';
import type { DrillReport } from '../drill/report.js';
import { fingerprint, renderRecoveryKey } from '../repository/crypto/index.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import type { RepositoryFacts } from './inventory.js';
import { withoutUrlPasswords } from './public-url.js';

export interface RepositoryReading {
  facts: Pick<RepositoryFacts, 'reachable' | 'error' | 'id' | 'fingerprint' | 'keys' | 'snapshots'>;
  snapshots: SnapshotEntry[];
  drills: DrillReport[];
  /** The printable recovery key, only when asked for. */
  recoveryKeyPage?: string;
  warnings: string[];
}

export interface ReadOptions {
  cacheRoot?: string;
  /** Asks for a password on the terminal when a repository has none configured. */
  prompt?: (question: string) => Promise<string>;
  recoveryKey?: boolean;
}

/**
 * What one configured repository holds now: identity, key slots (metadata
 * only), snapshots and stored drill reports. A repository that cannot be
 * opened is a fact for the pack (unreachable, with the error), not a failure.
 */
export async function readRepository(
  name: string,
  settings: RepositoryConfig,
  options: ReadOptions = {},
): Promise<RepositoryReading> {
  let repo;
  try {
    const ask = options.prompt;
    repo = await openConfiguredRepository(name, settings, {
      cacheRoot: options.cacheRoot,
      prompt: ask && ((question) => ask(`repository "${name}": ${question}`)),
    });
  } catch (err) {
    return unreachable(err);
  }
  try {
    const warnings: string[] = [];
    const [keys, listed] = await Promise.all([repo.listKeys(), repo.listSnapshots()]);
    const drills = await listDrillReports(repo).then(
      (d) => {
        if (d.unreadable.length)
          warnings.push(`repository "${name}": ${d.unreadable.length} drill report(s) could not be read`);
        return d.reports;
      },
      (err: Error) => {
        warnings.push(`repository "${name}": drill reports could not be listed: ${err.message}`);
        return [];
      },
    );
    if (listed.problems.length)
      warnings.push(`repository "${name}": ${listed.problems.length} snapshot(s) could not be read`);
    const times = listed.snapshots.map((s) => s.time).sort();
    return {
      facts: {
        reachable: true,
        id: repo.id,
        fingerprint: fingerprint(repo.keys.master),
        keys: keys.map((k) => ({
          id: k.id,
          ...(k.createdAt ? { createdAt: k.createdAt } : {}),
          ...(k.host ? { host: k.host } : {}),
          ...(k.username ? { username: k.username } : {}),
          ...(k.label ? { label: k.label } : {}),
          current: k.current,
          readable: k.readable,
        })),
        snapshots: {
          count: listed.snapshots.length,
          ...(times.length ? { oldest: times[0], newest: times[times.length - 1] } : {}),
          unreadable: listed.problems.length,
        },
      },
      snapshots: listed.snapshots,
      drills,
      ...(options.recoveryKey ? { recoveryKeyPage: renderRecoveryKey(repo.id, repo.keys.master) } : {}),
      warnings,
    };
  } catch (err) {
    return unreachable(err);
  } finally {
    await repo.close();
  }
}

function unreachable(err: unknown): RepositoryReading {
  return {
    facts: { reachable: false, error: withoutUrlPasswords((err as Error).message) },
    snapshots: [],
    drills: [],
    warnings: [],
  };
}
