/**
 * What `lifeboat handover` knows about a system, read from lifeboat.yaml and
 * the repositories when it runs. `inventory.json` is this object; the runbook,
 * keys page and restore script are renderings of it. It holds no secret: paths
 * of secret files, never their content; URLs without credentials.
 *
 * @module
 */

import type { ComplianceCheck } from '../compliance/evaluate.js';
import type { RetentionConfig } from '../config/schema.js';
import type { SourceType } from '../config/source-schemas.js';

/** What the handover pack describes: repositories, sources, jobs, drills, notifications and warnings (also `inventory.json`). */
export interface Inventory {
  format: 1;
  generated: { time: string; host: string; user: string; tool: string; config: string; stateDir: string };
  /** Whether the pack also holds recovery key pages (`--include-recovery-key`). */
  holdsSecret: boolean;
  repositories: RepositoryFacts[];
  sources: SourceFacts[];
  jobs: JobFacts[];
  notifications: NotificationFacts[];
  server: { listen?: string; tokenFile?: string } | null;
  alerts: Record<string, string | number> | null;
  compliance: { ok: boolean; checks: ComplianceCheck[] };
  warnings: string[];
}

/** Where the password or key of a repository comes from: places, never contents. */
export interface SecretSource {
  kind: 'password_file' | 'password_command' | 'key_file' | 'environment' | 'prompt';
  /** The file, or the variable's name; a command's text is never copied (it may hold a token). */
  where?: string;
}

export interface RepositoryFacts {
  name: string;
  /** Without credentials, query or fragment. */
  url: string;
  storage: 'file' | 's3' | 'sftp' | 'other';
  media?: string;
  location?: string;
  retention?: RetentionConfig;
  requireMount?: boolean;
  mountPoint?: string;
  secret: SecretSource;
  /** Settings needed to reach the storage (paths and names only). */
  access: Record<string, string | boolean | string[]>;
  reachable: boolean;
  error?: string;
  id?: string;
  fingerprint?: string;
  keys?: KeySlotFacts[];
  snapshots?: { count: number; oldest?: string; newest?: string; unreadable: number };
  /** Recovery key page written into the pack (`recovery-key-<name>.txt`). */
  recoveryKeyFile?: string;
}

export interface KeySlotFacts {
  id: string;
  createdAt?: string;
  host?: string;
  username?: string;
  label?: string;
  /** The slot that opened the repository for this pack. */
  current: boolean;
  readable: boolean;
}

export interface SnapshotFacts {
  id: string;
  time: string;
  host: string;
  files: number;
  bytes: number;
  tags: string[];
}

/** The newest snapshot of a source in one reachable repository. */
export interface CopyFacts {
  repository: string;
  snapshot: SnapshotFacts;
  /** Snapshots of the source in that repository. */
  count: number;
}

export interface RestoreCommand {
  repository: string;
  snapshot: string;
  /** Shell text, using $RESTORE_ROOT, $AGE_IDENTITY and $LIFEBOAT_CONFIG. */
  command: string;
  /** Environment variables the command needs besides LIFEBOAT_CONFIG and RESTORE_ROOT. */
  needs: string[];
  verify: string;
  drill: string;
}

export interface DrillFacts {
  time: string;
  verdict: 'PASS' | 'FAIL';
  /** Where the facts come from: a report stored in a repository, or only the local run history. */
  origin: 'repository' | 'history';
  repository?: string;
  snapshot?: string;
  rto?: { measuredSeconds: number | null; targetSeconds: number | null; ok: boolean | null };
  rpo?: { measuredSeconds: number | null; targetSeconds: number | null; ok: boolean | null; basis: string };
  reasons: string[];
}

export interface SourceFacts {
  name: string;
  type: SourceType;
  rpo?: string;
  rto?: string;
  /** What the source covers (paths, a database file, a server URL without credentials). */
  settings: Record<string, string | boolean | string[]>;
  /** age recipients for sealed files sources. */
  sealedTo?: string[];
  /** Jobs that back it up or copy it, and the repositories they name. */
  jobs: string[];
  configuredRepositories: string[];
  copies: CopyFacts[];
  restore: RestoreCommand[];
  /** What to do after the restore command (start a server on the data, swap files). */
  afterRestore: string[];
  /** Programs the restore or its checks need on the new machine. */
  tools: string[];
  lastDrill: DrillFacts | null;
}

export interface JobFacts {
  name: string;
  schedule?: string;
  timezone?: string;
  sources: string[] | 'all';
  to?: string;
  copyTo: string[];
  then: string[];
  drill?: { within?: string; sources?: string[] | 'all' };
  keepLast?: number;
}

export interface NotificationFacts {
  type: 'webhook' | 'email' | 'ping' | 'slack' | 'discord' | 'teams' | 'ntfy' | 'gotify' | 'matrix';
  /** scheme://host only (webhook, chat and ping paths often carry tokens), the room of a Matrix notifier, or the recipients of an email. */
  target: string;
  /** Files holding the real URL or secrets (paths only). */
  files: Record<string, string>;
  on?: string[];
  jobs?: string[];
}
