import type { LifeboatConfig } from '../config/schema.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import type { Repository } from '../repository/repository.js';
import type { RunHistory } from '../state/history.js';
import { rebuildHistory } from '../state/rebuild.js';

/**
 * A new (lost) state database is filled again from every configured
 * repository that can be opened now; one that cannot (a USB drive that is not
 * plugged in) is skipped and named in the log.
 */
export async function rebuildFromConfig(
  history: RunHistory,
  config: LifeboatConfig,
  cacheRoot: string | undefined,
  log: (line: string) => void,
): Promise<{ runs: number; steps: number }> {
  const opened: Array<{ name: string; repo: Repository }> = [];
  try {
    for (const [name, settings] of Object.entries(config.repositories ?? {})) {
      try {
        opened.push({ name, repo: await openConfiguredRepository(name, settings, { cacheRoot }) });
      } catch (err) {
        log(`rebuild: repository ${name} skipped: ${(err as Error).message}`);
      }
    }
    return await rebuildHistory(history, opened);
  } finally {
    for (const { repo } of opened) await repo.close();
  }
}
