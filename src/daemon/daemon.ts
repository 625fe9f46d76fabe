/**
 * `lifeboat serve`: the scheduler, the alert loop and the HTTP API around one
 * run history. `stop()` ends the loops, lets running jobs end at a safe point
 * (the abort is clean: no partial snapshot), then closes the server.
 *
 * @module
 */

import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Dispatcher } from '../alerts/dispatch.js';
import { AlertEngine } from '../alerts/engine.js';
import { notifiersFromConfig } from '../alerts/notifiers/from-config.js';
import type { RetryOptions } from '../alerts/notifiers/retry.js';
import { evaluateRules } from '../alerts/rules.js';
import { evaluateCompliance, type ComplianceCheck } from '../compliance/evaluate.js';
import { lastDrillsFromHistory, verificationsFromHistory } from '../compliance/collect.js';
import { parseDuration } from '../config/duration.js';
import type { LoadedConfig } from '../config/load.js';
import { AlertStore } from '../state/alerts-store.js';
import { alertSettingsOf, stateDirSpace } from './alert-inputs.js';
import { RunHistory } from '../state/history.js';
import { rebuildFromConfig } from './rebuild-on-start.js';
import { stateDir } from '../state/state-dir.js';
import { STATE_DB_FILE } from '../state/state-db.js';
import { systemClock, type Clock } from './clock.js';
import { EventHub } from './events.js';
import { recentSteps, scheduledSources } from './history-facts.js';
import { JobRunner } from './job-runner.js';
import { DEFAULT_LISTEN, parseListen } from './listen.js';
import { redactorFor } from './redact.js';
import { schedulesOf } from './schedule.js';
import { Scheduler } from './scheduler.js';
import { buildServer } from './server.js';
import { SnapshotCatalog } from './snapshot-catalog.js';
import { StorageCache } from './storage-view.js';
import { loadOrCreateToken } from './token.js';
import { replicationFacts, startReplications } from './replication.js';
import { startWalArchiving } from './wal-archiving.js';
import { walFacts } from './wal-facts.js';

export interface DaemonOptions {
  clock?: Clock;
  listen?: string;
  cacheRoot?: string;
  log?: (line: string) => void;
  /** How often alerts are evaluated when nothing runs. */
  alertIntervalMs?: number;
  notifyRetry?: RetryOptions;
}

export interface Daemon {
  url: string;
  tokenFile: string;
  tokenCreated: boolean;
  stop: () => Promise<void>;
}

export async function startDaemon(loaded: LoadedConfig, o: DaemonOptions = {}): Promise<Daemon> {
  const config = loaded.config;
  const clock = o.clock ?? systemClock;
  const log = o.log ?? (() => {});
  const dir = stateDir(config.state_dir);
  const fresh = !existsSync(path.join(dir, STATE_DB_FILE));
  const history = RunHistory.open(dir);
  if (fresh) {
    const r = await rebuildFromConfig(history, config, o.cacheRoot, log);
    log(`state database was new: rebuilt ${r.runs} run(s) and ${r.steps} step(s) from the repositories`);
  }
  const alerts = AlertStore.open(dir);
  if (!alerts.meta('watched_since')) alerts.setMeta('watched_since', new Date(clock.now()).toISOString());

  const tokenFile = config.server?.token_file ?? path.join(dir, 'api.token');
  const { token, created, warning } = loadOrCreateToken(tokenFile);
  if (warning) log(`warning: ${warning}`);
  const redact = redactorFor(config, [tokenFile]);
  const events = new EventHub();
  const storage = new StorageCache(config);
  const snapshots = new SnapshotCatalog(config, o.cacheRoot);
  const dispatcher = new Dispatcher(notifiersFromConfig(config, o.notifyRetry), log, redact);
  const a = config.alerts ?? {};
  const engine = new AlertEngine(alerts, (n) => dispatcher.send(n), parseDuration(a.repeat_every ?? '24h') * 1000);
  const settings = alertSettingsOf(config);

  let compliance: ComplianceCheck[] | undefined;
  const refreshCompliance = async () => {
    const repos = await snapshots.get();
    compliance = evaluateCompliance(
      config,
      repos.map((r) => ({
        name: r.name,
        reachable: r.reachable,
        snapshots: r.snapshots,
        ...(r.id ? { id: r.id } : {}),
        ...(r.accessRole ? { accessRole: r.accessRole } : {}),
      })),
      lastDrillsFromHistory(loaded),
      new Date(clock.now()),
      verificationsFromHistory(loaded),
    );
  };

  let evaluating: Promise<void> = Promise.resolve();
  const evaluateAlerts = () =>
    (evaluating = evaluating.then(async () => {
      try {
        const now = clock.now();
        const conditions = evaluateRules(
          {
            now,
            watchedSince: Date.parse(alerts.meta('watched_since')!),
            scheduledSources: scheduledSources(config),
            steps: recentSteps(history, config),
            running: runningBackups(),
            space: [...(await storage.get()), await stateDirSpace(dir)],
            compliance,
            replication: replicationFacts(config, dir, now, Date.parse(alerts.meta('watched_since')!)),
            wal: walFacts(config, dir, now, Date.parse(alerts.meta('watched_since')!)),
          },
          settings,
        ).map((c) => ({ ...c, message: redact(c.message) }));
        const r = await engine.evaluate(conditions, now);
        for (const x of r.fired) events.publish('alert.fired', { id: x.id, rule: x.rule, message: x.message });
        for (const x of r.resolved) events.publish('alert.resolved', { id: x.id, rule: x.rule });
      } catch (err) {
        log(`alerts: evaluation failed: ${redact((err as Error).message)}`);
      }
    }));

  const stop = new AbortController();
  const runner = new JobRunner({
    loaded,
    signal: stop.signal,
    events,
    redact,
    cacheRoot: o.cacheRoot,
    log,
    onRun: (e) => dispatcher.run(e),
    onFinished: async (result) => {
      storage.invalidate();
      snapshots.invalidate();
      if (result?.outcome === 'ok') {
        await dispatcher.send({
          event: 'success',
          summary: `OK job ${result.job}`,
          host: os.hostname(),
          time: new Date(clock.now()).toISOString(),
          run: {
            id: result.runId,
            job: result.job,
            outcome: result.outcome,
            duration_seconds: result.durationMs / 1000,
          },
        });
      }
      if (!stop.signal.aborted)
        await refreshCompliance().catch((err: unknown) => log(`compliance: ${redact((err as Error).message)}`));
      await evaluateAlerts();
    },
  });
  const runningBackups = () =>
    Object.entries(config.jobs ?? {})
      .filter(([, j]) => j.to)
      .flatMap(([job]) => {
        const r = runner.isRunning(job);
        return r ? [{ job, runId: r.runId, startedAt: r.startedAt }] : [];
      });
  const scheduler = new Scheduler({
    clock,
    schedules: schedulesOf(config),
    lastStart: (job) => {
      const last = history.runs(job, 1)[0];
      return last ? Date.parse(last.startedAt) : undefined;
    },
    trigger: (job, why) => {
      const r = runner.start(job, why);
      return r.started ? { started: true } : { started: false, detail: r.detail };
    },
    report: (e) => {
      events.publish(`scheduler.${e.type}`, { ...e });
      if (e.type === 'overlap')
        log(`job ${e.job}: due at ${e.at} but still running (${e.detail}); this run is skipped`);
      else if (e.type === 'catch-up') log(`job ${e.job}: missed its run of ${e.missed}; running it now`);
      else if (e.type === 'clock-jump') log(`clock jumped ${e.direction} by ${e.by_seconds}s; schedules recomputed`);
    },
  });

  const { app, closeStreams } = buildServer(
    {
      loaded,
      history,
      alerts,
      runner,
      events,
      storage,
      snapshots,
      dispatcher,
      redact,
      nextRuns: () => scheduler.nextRuns(),
      compliance: () => compliance,
      now: () => clock.now(),
    },
    token,
  );
  const listen = parseListen(o.listen ?? config.server?.listen ?? DEFAULT_LISTEN);
  if (!listen.loopback)
    log(`warning: listening on ${listen.host}, not loopback: the API is plain HTTP, protected by its token only`);
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : listen.port;
  const url = `http://${listen.host.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;

  const schedulerDone = scheduler.run(stop.signal);
  // Continuous protection of sqlite sources with `continuous` runs beside the schedules; stopping ships what is committed.
  const replicationsDone = startReplications(config, {
    stateDir: dir,
    log,
    signal: stop.signal,
    cacheRoot: o.cacheRoot,
  });
  // WAL archiving of postgres sources with `pitr:`: the async spool drained, base backups on their interval.
  const walArchivingDone = startWalArchiving(config, {
    stateDir: dir,
    log,
    signal: stop.signal,
    cacheRoot: o.cacheRoot,
  });
  const alertLoop = (async () => {
    await refreshCompliance().catch((err: unknown) => log(`compliance: ${redact((err as Error).message)}`));
    while (!stop.signal.aborted) {
      await evaluateAlerts();
      await clock.sleep(o.alertIntervalMs ?? 60_000, stop.signal);
    }
  })();

  let stopped: Promise<void> | undefined;
  return {
    url,
    tokenFile,
    tokenCreated: created,
    stop: () =>
      (stopped ??= (async () => {
        stop.abort();
        await schedulerDone;
        await replicationsDone;
        await walArchivingDone;
        await runner.drain();
        await alertLoop;
        await evaluating;
        await dispatcher.settle();
        closeStreams();
        await app.close();
        alerts.close();
        history.close();
      })()),
  };
}
