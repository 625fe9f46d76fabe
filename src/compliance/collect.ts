import type { LoadedConfig } from '../config/load.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import { RunHistory } from '../state/history.js';
import { stateDir } from '../state/state-dir.js';
import { isCompleteCopy, type RepositoryView, type Verification } from './evaluate.js';

/** What each configured repository holds now; one that cannot be opened is reported unreachable, not fatal. */
export async function collectRepositories(loaded: LoadedConfig, cacheRoot?: string): Promise<RepositoryView[]> {
  const views: RepositoryView[] = [];
  for (const [name, settings] of Object.entries(loaded.config.repositories ?? {})) {
    try {
      const repo = await openConfiguredRepository(name, settings, { cacheRoot });
      try {
        const { snapshots } = await repo.listSnapshots();
        views.push({
          name,
          reachable: true,
          snapshots: snapshots.map((s) => ({ id: s.id, time: s.time, source: s.source, complete: isCompleteCopy(s) })),
          id: repo.id,
          ...(repo.storage.accessRole ? { accessRole: repo.storage.accessRole } : {}),
        });
      } finally {
        await repo.close();
      }
    } catch (err) {
      views.push({ name, reachable: false, error: (err as Error).message, snapshots: [] });
    }
  }
  return views;
}

/** The newest drill per source, from the local run history. */
export function lastDrillsFromHistory(loaded: LoadedConfig): Map<string, { time: string; passed: boolean }> {
  const history = RunHistory.open(stateDir(loaded.config.state_dir));
  try {
    const drills = new Map<string, { time: string; passed: boolean }>();
    for (const step of history.steps({ step: 'drill' })) {
      if (step.source && !drills.has(step.source))
        drills.set(step.source, { time: step.startedAt, passed: step.outcome === 'ok' });
    }
    return drills;
  } finally {
    history.close();
  }
}

/** Every recorded read-back of a source's data from a repository (verify steps, drills), newest first. */
export function verificationsFromHistory(loaded: LoadedConfig): Verification[] {
  const history = RunHistory.open(stateDir(loaded.config.state_dir));
  try {
    const out: Verification[] = [];
    for (const kind of ['verify', 'drill'] as const) {
      for (const step of history.steps({ step: kind })) {
        if (!step.source || !step.repository) continue;
        out.push({
          repository: step.repository,
          source: step.source,
          kind,
          time: step.startedAt,
          passed: step.outcome === 'ok',
        });
      }
    }
    return out;
  } finally {
    history.close();
  }
}
