import os from 'node:os';
import { lastDrillsFromHistory, verificationsFromHistory } from '../compliance/collect.js';
import {
  evaluateCompliance,
  DEFAULT_RPO_SECONDS,
  type RepositoryView,
  type Verification,
} from '../compliance/evaluate.js';
import { parseDuration } from '../config/duration.js';
import type { LoadedConfig } from '../config/load.js';
import type { SourceConfig } from '../config/source-schemas.js';
import type { DrillReport } from '../drill/report.js';
import type { SnapshotEntry } from '../repository/format/index.js';
import { stateDir } from '../state/state-dir.js';
import { VERSION } from '../version.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import { jobFacts, jobsOf, notificationFacts, repositoryFacts, sourceSettings } from './config-facts.js';
import { lastDrills } from './drills.js';
import type { CopyFacts, DrillFacts, Inventory, JobFacts, RepositoryFacts, SourceFacts } from './inventory.js';
import { readRepository, type ReadOptions } from './read-repository.js';
import { afterRestore, restoreCommand, toolsFor } from './restore-plan.js';

export interface CollectOptions extends ReadOptions {
  now?: Date;
  env?: NodeJS.ProcessEnv;
  /** The host whose snapshots are preferred (default: this machine's name). */
  host?: string;
  /** Stops before the next repository is read (LifeboatError `interrupted`). */
  signal?: AbortSignal;
  /** Called after each repository was read. */
  onProgress?: (progress: HandoverProgress) => void;
}

/** How far a handover is: configured repositories read so far. */
export interface HandoverProgress {
  repositoriesRead: number;
  repositoriesTotal: number;
}

export interface Collected {
  inventory: Inventory;
  /** Recovery key pages by repository name, only with `recoveryKey`. */
  recoveryKeys: Map<string, string>;
}

/** Open every configured repository and put together what the pack says. */
export async function collectHandover(loaded: LoadedConfig, options: CollectOptions = {}): Promise<Collected> {
  const { config } = loaded;
  const now = options.now ?? new Date();
  const env = options.env ?? process.env;
  const host = options.host ?? os.hostname();
  const warnings: string[] = [];
  const repositories: RepositoryFacts[] = [];
  const held = new Map<string, SnapshotEntry[]>();
  const stored: Array<{ repository: string; report: DrillReport }> = [];
  const recoveryKeys = new Map<string, string>();

  const configured = Object.entries(config.repositories ?? {});
  for (const [name, settings] of configured) {
    throwIfInterrupted(options.signal, 'no pack file was written');
    const reading = await readRepository(name, settings, options);
    options.onProgress?.({ repositoriesRead: repositories.length + 1, repositoriesTotal: configured.length });
    repositories.push({ ...repositoryFacts(name, settings, env), ...reading.facts });
    warnings.push(...reading.warnings);
    if (!reading.facts.reachable) warnings.push(`repository "${name}" is unreachable: ${reading.facts.error}`);
    held.set(name, reading.snapshots);
    for (const report of reading.drills) stored.push({ repository: name, report });
    if (reading.recoveryKeyPage) recoveryKeys.set(name, reading.recoveryKeyPage);
  }

  const history = drillHistory(loaded, warnings);
  const views: RepositoryView[] = repositories.map((r) => ({
    name: r.name,
    reachable: r.reachable,
    ...(r.error ? { error: r.error } : {}),
    ...(r.id ? { id: r.id } : {}),
    snapshots: (held.get(r.name) ?? []).map((s) => ({ id: s.id, time: s.time, source: s.source })),
  }));
  const checks = evaluateCompliance(config, views, history, now, verifications(loaded));
  const drills = lastDrills(stored, history);
  const jobs = jobFacts(config);

  const sources = Object.entries(config.sources ?? {}).map(([name, s]) =>
    sourceFacts(name, s, { jobs, repositories, held, drills, host, now, warnings }),
  );

  return {
    inventory: {
      format: 1,
      generated: {
        time: now.toISOString(),
        host: os.hostname(),
        user: currentUser(env),
        tool: `lifeboat ${VERSION}`,
        config: loaded.file,
        stateDir: stateDir(config.state_dir, env),
      },
      holdsSecret: recoveryKeys.size > 0,
      repositories,
      sources,
      jobs,
      notifications: notificationFacts(config),
      server: config.server
        ? {
            ...(config.server.listen ? { listen: config.server.listen } : {}),
            ...(config.server.token_file ? { tokenFile: config.server.token_file } : {}),
          }
        : null,
      alerts: config.alerts ? { ...config.alerts } : null,
      compliance: { ok: checks.every((c) => c.status === 'pass'), checks },
      warnings,
    },
    recoveryKeys,
  };
}

interface SourceContext {
  jobs: JobFacts[];
  repositories: RepositoryFacts[];
  held: Map<string, SnapshotEntry[]>;
  drills: Map<string, DrillFacts>;
  host: string;
  now: Date;
  warnings: string[];
}

function sourceFacts(name: string, s: SourceConfig, ctx: SourceContext): SourceFacts {
  const { jobs, repositories: configured } = jobsOf(name, ctx.jobs);
  // Repositories the jobs name first (the backup target before its copies), then any other holding it.
  const order = [...configured, ...ctx.repositories.map((r) => r.name).filter((r) => !configured.includes(r))];
  const copies: CopyFacts[] = [];
  for (const repository of order) {
    const all = (ctx.held.get(repository) ?? []).filter((x) => x.source === name);
    if (all.length === 0) continue;
    const mine = all.filter((x) => x.host === ctx.host);
    const newest = (mine.length ? mine : all).reduce((a, b) => (b.time > a.time ? b : a));
    if (!mine.length)
      ctx.warnings.push(
        `source "${name}": repository "${repository}" holds no snapshot from ${ctx.host}; the newest is from ${newest.host}`,
      );
    copies.push({
      repository,
      count: all.length,
      snapshot: {
        id: newest.id,
        time: newest.time,
        host: newest.host,
        files: newest.summary?.files ?? 0,
        bytes: newest.summary?.bytes ?? 0,
        tags: newest.tags,
      },
    });
  }
  sourceWarnings(name, s, copies, configured, ctx);
  return {
    name,
    type: s.type,
    ...(s.rpo ? { rpo: s.rpo } : {}),
    ...(s.rto ? { rto: s.rto } : {}),
    settings: sourceSettings(s),
    ...(s.type === 'files' && s.seal_to ? { sealedTo: s.seal_to } : {}),
    jobs,
    configuredRepositories: configured,
    copies,
    restore: copies.map((c) => restoreCommand(name, s, c.repository, c.snapshot.id)),
    afterRestore: afterRestore(name, s),
    tools: toolsFor(s),
    lastDrill: ctx.drills.get(name) ?? null,
  };
}

function sourceWarnings(
  name: string,
  s: SourceConfig,
  copies: CopyFacts[],
  configured: string[],
  ctx: SourceContext,
): void {
  if (copies.length === 0) {
    ctx.warnings.push(
      `source "${name}" has no snapshot in any reachable repository: it cannot be restored from this pack`,
    );
    return;
  }
  const rpo = s.rpo ? parseDuration(s.rpo) : DEFAULT_RPO_SECONDS;
  const newest = copies
    .map((c) => c.snapshot.time)
    .sort()
    .at(-1)!;
  if (ctx.now.getTime() - Date.parse(newest) > rpo * 1000)
    ctx.warnings.push(`source "${name}": the newest snapshot (${newest}) is older than its RPO of ${s.rpo ?? '36h'}`);
  const missing = configured.filter(
    (r) => ctx.repositories.find((x) => x.name === r)?.reachable && !copies.some((c) => c.repository === r),
  );
  if (missing.length)
    ctx.warnings.push(`source "${name}": no snapshot yet in ${missing.join(', ')}, which its jobs name`);
}

/** Verify steps and drills from the local run history; one that cannot be read was warned about already. */
function verifications(loaded: LoadedConfig): Verification[] {
  try {
    return verificationsFromHistory(loaded);
  } catch {
    return [];
  }
}

/** Drills from the local run history; a history that cannot be read is a warning, not a failure. */
function drillHistory(loaded: LoadedConfig, warnings: string[]): Map<string, { time: string; passed: boolean }> {
  try {
    return lastDrillsFromHistory(loaded);
  } catch (err) {
    warnings.push(`the local run history could not be read: ${(err as Error).message}`);
    return new Map();
  }
}

function currentUser(env: NodeJS.ProcessEnv): string {
  try {
    return os.userInfo().username;
  } catch {
    return env.USER ?? env.LOGNAME ?? String(process.getuid?.() ?? 'unknown');
  }
}
