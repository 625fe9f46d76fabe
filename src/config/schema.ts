/**
 * The whole of lifeboat.yaml (docs/configuration.md). Every object is strict: unknown keys are errors.
 *
 * @module
 */

import { z } from 'zod';
import { repositoryUrlIssues } from './repository-url-check.js';
import { hooksSchema } from './hooks-schema.js';
import { durationSchema, sourceSchema } from './source-schemas.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, ".", "_" or "-"');

export const retentionSchema = z
  .strictObject({
    keep_last: z.int().positive().optional(),
    keep_hourly: z.int().positive().optional(),
    keep_daily: z.int().positive().optional(),
    keep_weekly: z.int().positive().optional(),
    keep_monthly: z.int().positive().optional(),
    keep_yearly: z.int().positive().optional(),
    keep_within: durationSchema.optional(),
    keep_tags: z.array(z.string().min(1)).optional(),
    max_age: durationSchema
      .optional()
      .describe('data-minimisation limit: nothing older is kept, whatever the other rules say'),
  })
  .describe('retention policy, applied per source and host');

export const repositorySchema = z.strictObject({
  url: z
    .string()
    .min(1)
    .superRefine(repositoryUrlIssues)
    .describe('a path, file://, sftp://user@host/path or s3://bucket/prefix'),
  password_file: z.string().min(1).optional().describe('file holding the repository password (mode 0600)'),
  password_command: z.string().min(1).optional().describe('command printing the repository password'),
  key_file: z.string().min(1).optional().describe('recovery key file instead of a password'),
  media: z.enum(['disk', 'usb', 'nas', 'object', 'sftp', 'tape']).optional(),
  location: z.enum(['onsite', 'offsite']).optional(),
  require_mount: z
    .boolean()
    .optional()
    .describe('refuse to write unless the path is on a mounted file system other than /'),
  mount_point: z
    .string()
    .min(1)
    .optional()
    .describe(
      'with require_mount: the exact mount point of the drive (default: any file system other than / holding the path)',
    ),
  retention: retentionSchema.optional(),
  endpoint: z.string().url().optional().describe('S3 endpoint URL'),
  region: z.string().min(1).optional(),
  allowed_regions: z.array(z.string().min(1)).optional().describe('refuse to write to a bucket in any other region'),
  path_style: z.boolean().optional(),
  storage_class: z.string().min(1).optional(),
  server_side_encryption: z.string().min(1).optional(),
  object_lock: z
    .strictObject({
      mode: z
        .enum(['governance', 'compliance'])
        .describe(
          'compliance: nobody can shorten or remove it; governance: a user with s3:BypassGovernanceRetention can',
        ),
      days: z.int().positive().max(36500).describe('each object written stays locked this many days'),
    })
    .optional()
    .describe('S3: retain every backup object with Object Lock (the bucket must have Object Lock enabled)'),
  credentials_file: z.string().min(1).optional().describe('AWS-style credentials (KEY=VALUE lines) for S3'),
  identity_file: z.string().min(1).optional().describe('SSH private key for SFTP'),
  known_hosts: z.string().min(1).optional().describe('known_hosts file for SFTP host-key checks'),
  accept_new_host_key: z
    .boolean()
    .optional()
    .describe('SFTP: trust and record an unknown host key on first use (a changed key is always refused)'),
  sftp_password_file: z
    .string()
    .min(1)
    .optional()
    .describe('SFTP: file holding the login password, when no key is used'),
  token_file: z
    .string()
    .min(1)
    .optional()
    .describe('repository server (lifeboat+http(s)://): file holding the token (mode 0600)'),
});

const jobStep = z.enum(['forget', 'prune', 'check', 'verify']);

export const jobSchema = z.strictObject({
  schedule: z
    .string()
    .min(1)
    .optional()
    .describe('cron expression (5 or 6 fields); without one the job runs only when asked'),
  timezone: z.string().min(1).optional().describe("IANA time zone of the schedule (default: the machine's)"),
  jitter: durationSchema.optional().describe('random delay up to this long before a scheduled run'),
  sources: z.union([z.literal('all'), z.array(name).min(1)]).optional(),
  to: name.optional().describe('repository that receives the backups'),
  copy_to: z.array(name).optional().describe('repositories that receive copies'),
  then: z.array(jobStep).optional().describe('steps after the backups'),
  drill: z
    .strictObject({ within: durationSchema.optional(), sources: z.union([z.literal('all'), z.array(name)]).optional() })
    .optional(),
  keep_last: z.int().positive().optional().describe('retention for unscheduled jobs'),
  hooks: hooksSchema.optional().describe("commands run around the whole job run (its sources' own hooks run inside)"),
});

const notifyOn = z.array(z.enum(['failure', 'recovered', 'success', 'alert'])).optional();

/** A chat service reached through a webhook URL that is itself the secret: `url` or (better) `url_file`. */
function chatWebhook<T extends string>(type: T, what: string) {
  return z
    .strictObject({
      type: z.literal(type),
      url: z.string().url().optional().describe(what),
      url_file: z.string().min(1).optional().describe('file holding the webhook URL instead of url'),
      on: notifyOn,
    })
    .refine(
      (p) => (p.url === undefined) !== (p.url_file === undefined),
      `a ${type} notifier needs exactly one of url and url_file`,
    );
}

export const notifySchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('webhook'),
    url: z.string().url(),
    url_file: z.string().optional(),
    secret_file: z.string().optional(),
    on: notifyOn,
  }),
  z.strictObject({
    type: z.literal('email'),
    smtp_url_file: z.string().min(1).describe('file holding smtp[s]://user:password@host:port'),
    from: z.string().min(3).optional(),
    to: z.array(z.string().min(3)).min(1),
    on: notifyOn,
  }),
  chatWebhook('slack', 'Slack incoming webhook URL (https://hooks.slack.com/services/…)'),
  chatWebhook('discord', 'Discord channel webhook URL (https://discord.com/api/webhooks/…)'),
  chatWebhook('teams', 'Microsoft Teams incoming webhook or Workflows URL'),
  z
    .strictObject({
      type: z.literal('ntfy'),
      url: z.string().url().optional().describe('topic URL, e.g. https://ntfy.sh/mytopic'),
      url_file: z.string().min(1).optional().describe('file holding the topic URL instead of url'),
      token_file: z.string().min(1).optional().describe('file holding an ntfy access token (sent as Bearer)'),
      on: notifyOn,
    })
    .refine(
      (p) => (p.url === undefined) !== (p.url_file === undefined),
      'an ntfy notifier needs exactly one of url and url_file',
    ),
  z.strictObject({
    type: z.literal('gotify'),
    url: z.string().url().describe('Gotify server URL, e.g. https://gotify.example.com'),
    token_file: z.string().min(1).describe('file holding the application token (sent as X-Gotify-Key)'),
    on: notifyOn,
  }),
  z.strictObject({
    type: z.literal('matrix'),
    homeserver: z.string().url().describe('homeserver URL, e.g. https://matrix.example.org'),
    room: z
      .string()
      .regex(/^![^:\s]+:\S+$/, 'a room id such as !abcdef:example.org (Element: room settings, Advanced)')
      .describe('room id, e.g. !abcdef:example.org'),
    access_token_file: z.string().min(1).describe("file holding the sending account's access token"),
    on: notifyOn,
  }),
  z
    .strictObject({
      type: z.literal('ping'),
      url: z.string().url().optional().describe('base ping URL (healthchecks.io style): /start and /fail are appended'),
      url_file: z.string().min(1).optional().describe('file holding the base ping URL instead of url'),
      jobs: z.array(name).min(1).optional().describe('ping around these jobs only (default: all)'),
      timeout: durationSchema.optional().describe('how long one ping attempt may take (default 10s)'),
    })
    .refine(
      (p) => (p.url === undefined) !== (p.url_file === undefined),
      'a ping needs exactly one of url and url_file',
    ),
]);

/** A TCP port to listen on: 1 to 65535, or 0 for any free one (the daemon prints the address it got). */
function validPort(digits: string): boolean {
  return /^\d{1,5}$/.test(digits) && Number(digits) <= 65535;
}

export const configSchema = z.strictObject({
  version: z.literal(1).describe('format version of this file'),
  state_dir: z
    .string()
    .min(1)
    .optional()
    .describe('local catalog and run history; a cache rebuildable from the repositories'),
  repositories: z.record(name, repositorySchema).optional(),
  sources: z.record(name, sourceSchema).optional(),
  jobs: z.record(name, jobSchema).optional(),
  alerts: z
    .strictObject({
      overdue_after: durationSchema.optional(),
      size_change_pct: z.number().positive().optional(),
      min_free_pct: z.number().min(0).max(100).optional().describe('older name of free_space_warning_pct'),
      free_space_warning_pct: z
        .number()
        .min(0)
        .max(100)
        .optional()
        .describe('warn below this percentage free (default 20)'),
      free_space_critical_pct: z
        .number()
        .min(0)
        .max(100)
        .optional()
        .describe('critical below this percentage free (default 10)'),
      max_backup_duration: durationSchema.optional().describe('warn when a backup runs longer (default 1h)'),
      repeat_every: durationSchema.optional(),
    })
    .optional(),
  notify: z.array(notifySchema).optional(),
  server: z
    .strictObject({
      listen: z
        .string()
        .regex(/^[^:[\]]+:\d+$|^\[[0-9a-f:.]+\]:\d+$/i, 'host:port, or [IPv6]:port')
        .refine(
          (s) => !/:\d+$/.test(s) || validPort(s.slice(s.lastIndexOf(':') + 1)),
          'the port must be from 1 to 65535 (or 0: any free port)',
        )
        .optional(),
      token_file: z.string().min(1).optional(),
      restore_roots: z
        .array(z.string().regex(/^\//, 'an absolute path'))
        .optional()
        .describe('directories the API may restore into, besides the system temp directory (default: none)'),
    })
    .optional(),
});

/** The contents of lifeboat.yaml (see docs/configuration.md and the JSON Schema). */
export type LifeboatConfig = z.infer<typeof configSchema>;
export type RepositoryConfig = z.infer<typeof repositorySchema>;
export type JobConfig = z.infer<typeof jobSchema>;
export type RetentionConfig = z.infer<typeof retentionSchema>;
