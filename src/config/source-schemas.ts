/**
 * The `sources:` entries of lifeboat.yaml (docs/configuration.md), one strict schema per
 * type. Unknown keys are errors, so a typo never silently disables a setting.
 *
 * @module
 */

import { z } from 'zod';

import { durationSchema } from './duration-schema.js';
import { hooksSchema } from './hooks-schema.js';

export { durationSchema };

const recentData = z
  .strictObject({
    table: z.string().min(1).describe('table holding timestamped rows'),
    column: z.string().min(1).describe('timestamp column; its newest value is recorded and checked by drills'),
  })
  .describe('where the newest data lives, for RPO checks');

const drillServer = z
  .enum(['auto', 'throwaway', 'scratch_database'])
  .optional()
  .describe(
    'where drills restore a dump: a throwaway server of the same major version in a temp dir, or a scratch database on the configured server; auto (default): throwaway when its binaries are present',
  );

/** Keys every source accepts. */
const common = {
  rpo: durationSchema.optional().describe('recovery point objective: the oldest a good backup may be'),
  rto: durationSchema.optional().describe('recovery time objective: the longest a restore may take'),
  tags: z.array(z.string().min(1)).optional().describe('tags added to every snapshot of this source'),
  smoke: z.string().min(1).optional().describe('command run by drills against the restored copy; exit 0 means usable'),
  hooks: hooksSchema.optional(),
};

/**
 * A database server URL, checked when the config is loaded (`config validate`),
 * not at the first backup. A URL without a database path means every database
 * of the server (`databases: all`). Messages never repeat the URL, which may
 * hold a password.
 */
function databaseUrl(kind: 'postgres' | 'mysql', scheme: RegExp, port: number) {
  const example = `${kind}://user@host:${port}/database`;
  return z
    .string()
    .regex(scheme, `a ${kind}:// URL`)
    .refine(
      (url) => URL.canParse(url) && !/%(?![0-9a-f]{2})/i.test(new URL(url).pathname),
      `not a valid ${kind} URL; write it as ${example}, or without /database for every database of the server`,
    )
    .describe(`${example} (no password here); without /database: every database of the server`);
}

/** Which databases of the server a source backs up; see docs/sources/postgres.md. */
const databaseSelection = {
  databases: z
    .union([z.literal('all'), z.array(z.string().min(1)).min(1)])
    .optional()
    .describe(
      '"all", or database names and globs (app_*): each is dumped on its own, listed again at every run; the URL then names no database',
    ),
  exclude_databases: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .describe('database names or globs left out of `databases`'),
};

/** `databases` and a database in the URL contradict each other: say so at load time. */
function oneSelection(
  config: { url: string; databases?: unknown; exclude_databases?: unknown; recent_data?: unknown },
  ctx: z.RefinementCtx,
): void {
  if (!URL.canParse(config.url)) return;
  const named = new URL(config.url).pathname.replace(/^\//, '') !== '';
  if (!named && config.recent_data !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['recent_data'],
      message:
        'recent_data names a table of one database, and this source backs up every database of the server: give the table its own source whose URL names its database',
    });
  if (named && config.databases !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['databases'],
      message: 'the URL already names one database; drop /database from `url` to choose databases with `databases`',
    });
  if (named && config.exclude_databases !== undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['exclude_databases'],
      message: 'the URL names one database, so there is nothing to exclude; drop /database from `url`',
    });
}

const secretFile = z
  .string()
  .min(1)
  .describe('path of a file holding the secret (mode 0600); never put secrets in the config itself');

export const filesSourceSchema = z.strictObject({
  type: z.literal('files'),
  paths: z.array(z.string().min(1)).min(1).describe('files, directories or globs (/etc/app/*.key) to back up'),
  exclude: z
    .array(z.string().min(1))
    .optional()
    .describe('globs to skip: a name (*.tmp) or an absolute path (/var/cache/**)'),
  seal_to: z
    .array(z.string().regex(/^age1[0-9a-z]+$/, 'an age recipient (age1…)'))
    .min(1)
    .optional()
    .describe('age recipients: content is sealed before it enters the repository; restoring needs an identity'),
  one_file_system: z.boolean().optional().describe('do not cross mount points'),
  ...common,
});

export const sqliteSourceSchema = z
  .strictObject({
    type: z.literal('sqlite'),
    path: z.string().min(1).describe('the database file'),
    temp_dir: z
      .string()
      .min(1)
      .optional()
      .describe('where the consistent copy is made before it is stored (default: the system temp directory)'),
    continuous: z
      .strictObject({
        interval: durationSchema
          .optional()
          .describe('ship newly committed transactions at most this often (default 1s)'),
        snapshot_every: durationSchema
          .optional()
          .describe('store a new full copy of the database this often (default 6h)'),
        retention: durationSchema.optional().describe('every point of this window stays restorable (default 24h)'),
        to: z
          .string()
          .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/)
          .optional()
          .describe(
            'repository that receives the stream (default: the `to` of the job that backs this source up, else the only repository)',
          ),
      })
      .optional()
      .describe(
        'continuous protection: stream the write-ahead log into the repository (database in WAL mode; `lifeboat replicate` or `serve`)',
      ),
    recent_data: recentData
      .optional()
      .describe(
        'sources with `continuous`: where the newest data lives; drills of the stream check it against the point restored to',
      ),
    ...common,
  })
  .superRefine((s, ctx) => {
    // Only a drill of the stream reads it: on a source without `continuous` it would be a check that never runs.
    if (s.recent_data && !s.continuous)
      ctx.addIssue({
        code: 'custom',
        path: ['recent_data'],
        message:
          'recent_data of a sqlite source is checked by drills of its continuous stream: configure `continuous:` too',
      });
  });

/** Physical protection of a PostgreSQL cluster: base backups and continuous WAL archiving (docs/sources/postgres.md). */
export const postgresPitrSchema = z
  .strictObject({
    wal: z
      .enum(['archive', 'stream'])
      .describe(
        'archive: the server runs `lifeboat wal-push %p` as archive_command; stream: `lifeboat serve` runs pg_receivewal against the replication slot `slot` and ships completed and partial segments',
      ),
    slot: z
      .string()
      .regex(/^[a-z0-9_]{1,63}$/, 'a replication slot name: lower-case letters, digits and _ (at most 63)')
      .optional()
      .describe(
        'stream mode: the physical replication slot pg_receivewal streams from (created with --create-slot --if-not-exists when missing)',
      ),
    base_backup: durationSchema
      .optional()
      .describe(
        '`lifeboat serve` takes a base backup whenever the newest one is older than this interval (e.g. 1d); without it base backups are taken by `lifeboat base-backup` only',
      ),
    wal_retention: durationSchema
      .optional()
      .describe('WAL older than this that no kept base backup needs is removed by `lifeboat wal prune` (default 7d)'),
    spool_dir: z
      .string()
      .min(1)
      .optional()
      .describe(
        'async archive mode: the local directory `wal-push --async` writes into and `lifeboat serve` (or `lifeboat wal drain`) empties (default <state_dir>/pitr/<source>/spool)',
      ),
  })
  .superRefine((p, ctx) => {
    if (p.wal === 'stream' && !p.slot)
      ctx.addIssue({
        code: 'custom',
        path: ['slot'],
        message: 'stream mode needs `slot`: the physical replication slot pg_receivewal streams from',
      });
    if (p.wal === 'archive' && p.slot)
      ctx.addIssue({ code: 'custom', path: ['slot'], message: '`slot` is used by `wal: stream` only' });
  })
  .describe('point-in-time recovery: base backups and continuous WAL archiving');

export const postgresSourceSchema = z
  .strictObject({
    type: z.literal('postgres'),
    url: databaseUrl('postgres', /^postgres(ql)?:\/\//, 5432),
    password_file: secretFile.optional(),
    globals: z
      .boolean()
      .optional()
      .describe('also back up roles and tablespaces with pg_dumpall --globals-only (default true)'),
    recent_data: recentData.optional(),
    bin_dir: z
      .string()
      .min(1)
      .optional()
      .describe('directory of pg_dump/pg_restore (and initdb/postgres for drills) matching the server version'),
    pitr: postgresPitrSchema.optional(),
    drill: z.strictObject({ server: drillServer }).optional().describe('how drills restore the dumps of this source'),
    ...databaseSelection,
    ...common,
  })
  .superRefine(oneSelection);

export const mysqlSourceSchema = z
  .strictObject({
    type: z.literal('mysql'),
    url: databaseUrl('mysql', /^(mysql|mariadb):\/\//, 3306),
    password_file: secretFile.optional(),
    recent_data: recentData.optional(),
    drill: z
      .strictObject({
        server: drillServer,
        bin_dir: z
          .string()
          .min(1)
          .optional()
          .describe('directory of mariadb-install-db and mariadbd for the throwaway server (default: PATH, /usr/sbin)'),
      })
      .optional()
      .describe('how drills restore the dumps of this source'),
    ...databaseSelection,
    ...common,
  })
  .superRefine(oneSelection);

export const redisSourceSchema = z.strictObject({
  type: z.literal('redis'),
  url: z
    .string()
    .regex(/^rediss?:\/\//, 'a redis:// URL')
    .refine((u) => URL.canParse(u), 'not a valid redis URL; write it as redis://[user@]host:port')
    .describe('redis://[user@]host:port (no password here)'),
  password_file: secretFile.optional(),
  aof: z
    .boolean()
    .optional()
    .describe('also store the AOF files when the server keeps them on this host (default true)'),
  ...common,
});

const snapshotApiSource = {
  url: z
    .string()
    .regex(/^https?:\/\//, 'an http:// URL')
    .refine((u) => URL.canParse(u), 'not a valid http:// URL')
    .describe("the server's HTTP address"),
  data_dir: z.string().min(1).describe("the server's data directory on this host (snapshots are created inside it)"),
  binary: z
    .string()
    .min(1)
    .optional()
    .describe(
      'the server program started on a copy of each snapshot and on restored copies to measure them (default: victoria-metrics or prometheus on PATH)',
    ),
  ...common,
};

export const victoriaMetricsSourceSchema = z.strictObject({ type: z.literal('victoriametrics'), ...snapshotApiSource });
export const prometheusSourceSchema = z.strictObject({ type: z.literal('prometheus'), ...snapshotApiSource });

export const commandSourceSchema = z.strictObject({
  type: z.literal('command'),
  backup: z.string().min(1).describe('shell command whose standard output is the backup, or that writes it to {file}'),
  restore: z
    .string()
    .min(1)
    .optional()
    .describe('shell command fed the backup on standard input, or given its path as {file}'),
  filename: z
    .string()
    .regex(/^[^/]+$/, 'a file name without /')
    .optional()
    .describe('name of the stream inside the snapshot (default: <source>.out)'),
  timeout: durationSchema.optional().describe('fail the backup when the command runs longer'),
  ...common,
});

export const dockerSourceSchema = z
  .strictObject({
    type: z.literal('docker'),
    volumes: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('volume names and globs (app_*), listed again at every run through the Engine API'),
    containers: z
      .array(z.string().min(1))
      .min(1)
      .optional()
      .describe('container names: every named volume these containers mount is backed up too'),
    stop: z
      .enum(['stop', 'pause', 'none'])
      .optional()
      .describe(
        'what happens to the running containers that use the volumes during the copy: stopped (default), paused, or left running (none)',
      ),
    stop_timeout: durationSchema
      .optional()
      .describe('with stop: how long a container is given to stop before the engine kills it (default 30s)'),
    socket: z
      .string()
      .min(1)
      .optional()
      .describe(
        'the Docker Engine API unix socket (default /var/run/docker.sock; Podman: its `podman system service` socket)',
      ),
    ...common,
  })
  .refine((s) => Boolean(s.volumes?.length || s.containers?.length), {
    message: 'a docker source needs `volumes:` or `containers:` (or both)',
  });

export const sourceSchema = z.discriminatedUnion('type', [
  filesSourceSchema,
  sqliteSourceSchema,
  postgresSourceSchema,
  mysqlSourceSchema,
  redisSourceSchema,
  victoriaMetricsSourceSchema,
  prometheusSourceSchema,
  commandSourceSchema,
  dockerSourceSchema,
]);

export type SourceConfig = z.infer<typeof sourceSchema>;
export type SourceType = SourceConfig['type'];
export type SourceConfigOf<T extends SourceType> = Extract<SourceConfig, { type: T }>;
export const SOURCE_TYPES = sourceSchema.options.map((o) => o.shape.type.value) as SourceType[];
