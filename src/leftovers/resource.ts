/**
 * The external resources a process records before it makes them, with what
 * is needed to remove them — never a password: the sweep takes credentials
 * from the configured source of the recorded name.
 *
 * @module
 */

import path from 'node:path';
import { z } from 'zod';

/** Names Lifeboat gives its own databases (verify/drill scratch, a restore's staging copy); the sweep drops no other. */
export const OWN_DATABASE = /^lifeboat_(drill|restore)_[0-9a-f]{12}$/;
/** Snapshot names as the servers make them (a plain name, never a path). */
const SNAPSHOT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Directory names Lifeboat makes (`lifeboat-verify-…`, `.lifeboat-measure-…`). */
export const OWN_DIRECTORY = /^\.?lifeboat-[a-z]+(-[a-z]+)*-[A-Za-z0-9]{6}$/;

const server = z.object({
  host: z.string().min(1),
  port: z.number().int().positive(),
  user: z.string().min(1),
  socket: z.string().optional(),
  sslmode: z.string().optional(),
});

const database = z.object({
  kind: z.literal('database'),
  engine: z.enum(['postgres', 'mysql']),
  database: z.string().regex(OWN_DATABASE),
  server,
});

const tsdbSnapshot = z.object({
  kind: z.literal('tsdb-snapshot'),
  engine: z.enum(['victoriametrics', 'prometheus']),
  /** The server's URL without credentials. */
  url: z.string(),
  dataDir: z.string().refine((p) => path.isAbsolute(p), 'an absolute path'),
  /** Null until the server answered with the name (a kill during the request leaves it null). */
  snapshot: z.string().regex(SNAPSHOT_NAME).nullable(),
  requestedAt: z.string(),
});

const childProcess = z.object({
  kind: z.literal('process'),
  pid: z.number().int().gt(1),
  start: z.number().nullable(),
  label: z.string(),
  /** It leads its own process group: the whole group is stopped. */
  group: z.boolean(),
});

const directory = z.object({
  kind: z.literal('directory'),
  path: z
    .string()
    .refine(
      (p) => path.isAbsolute(p) && OWN_DIRECTORY.test(path.basename(p)),
      'an absolute path to a directory Lifeboat names',
    ),
});

/** A container a docker backup stopped or paused: given back (started, unpaused) by the sweep if its owner died. */
const heldContainer = z.object({
  kind: z.literal('held-container'),
  /** The Docker Engine API socket. */
  socket: z.string().refine((p) => path.isAbsolute(p), 'an absolute path'),
  id: z.string().regex(/^[0-9a-f]{12,64}$/),
  name: z.string(),
  action: z.enum(['stopped', 'paused']),
});

export const resourceSchema = z.discriminatedUnion('kind', [
  database,
  tsdbSnapshot,
  childProcess,
  directory,
  heldContainer,
]);

export type Resource = z.infer<typeof resourceSchema>;
export type ResourceOf<K extends Resource['kind']> = Extract<Resource, { kind: K }>;

/** One line for people: what it is and where. */
export function describeResource(r: Resource): string {
  switch (r.kind) {
    case 'database':
      return `${r.engine === 'postgres' ? 'PostgreSQL' : 'MySQL'} database ${r.database} on ${r.server.socket ?? `${r.server.host}:${r.server.port}`}`;
    case 'tsdb-snapshot':
      return `${r.engine === 'victoriametrics' ? 'VictoriaMetrics' : 'Prometheus'} snapshot ${r.snapshot ?? `(requested at ${r.requestedAt}, name never received)`} of ${r.url}`;
    case 'process':
      return `${r.label} process ${r.pid}`;
    case 'directory':
      return `directory ${r.path}`;
    case 'held-container':
      return `container ${r.name} ${r.action} for a backup (Docker Engine API at ${r.socket})`;
  }
}
