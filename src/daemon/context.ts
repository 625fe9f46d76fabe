import type { Dispatcher } from '../alerts/dispatch.js';
import type { ComplianceCheck } from '../compliance/evaluate.js';
import type { LoadedConfig } from '../config/load.js';
import type { AlertStore } from '../state/alerts-store.js';
import type { RunHistory } from '../state/history.js';
import type { EventHub } from './events.js';
import type { JobRunner } from './job-runner.js';
import type { SnapshotCatalog } from './snapshot-catalog.js';
import type { StorageCache } from './storage-view.js';

/** What the HTTP routes read and drive: one object, built by `daemon.ts`. */
export interface DaemonContext {
  loaded: LoadedConfig;
  history: RunHistory;
  alerts: AlertStore;
  runner: JobRunner;
  events: EventHub;
  storage: StorageCache;
  snapshots: SnapshotCatalog;
  dispatcher: Dispatcher;
  redact: (text: string) => string;
  nextRuns: () => Map<string, number>;
  compliance: () => ComplianceCheck[] | undefined;
  now: () => number;
}
