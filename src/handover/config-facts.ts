/**
 * The facts of the pack that come from lifeboat.yaml alone, as pure
 * functions. Secret files appear by path; commands that may embed a token
 * (password_command, a command source's backup/restore, smoke) by the fact
 * that they exist, never by their text.
 *
 * @module
 */

import type { LifeboatConfig, RepositoryConfig } from '../config/schema.js';
import type { SourceConfig } from '../config/source-schemas.js';
import type { JobFacts, NotificationFacts, RepositoryFacts, SecretSource } from './inventory.js';
import { hasScheme, originOf, publicUrl } from './public-url.js';

type ConfigRepositoryFacts = Omit<
  RepositoryFacts,
  'reachable' | 'error' | 'id' | 'fingerprint' | 'keys' | 'snapshots' | 'recoveryKeyFile'
>;

export function repositoryFacts(
  name: string,
  s: RepositoryConfig,
  env: NodeJS.ProcessEnv = process.env,
): ConfigRepositoryFacts {
  return {
    name,
    url: publicUrl(s.url, { user: true }),
    storage: storageKind(s.url),
    ...(s.media ? { media: s.media } : {}),
    ...(s.location ? { location: s.location } : {}),
    ...(s.retention ? { retention: s.retention } : {}),
    ...(s.require_mount ? { requireMount: true } : {}),
    ...(s.mount_point ? { mountPoint: s.mount_point } : {}),
    secret: secretSource(s, env),
    access: defined({
      endpoint: s.endpoint && originOf(s.endpoint),
      region: s.region,
      allowed_regions: s.allowed_regions,
      path_style: s.path_style,
      storage_class: s.storage_class,
      server_side_encryption: s.server_side_encryption,
      object_lock: s.object_lock && `${s.object_lock.mode}, ${s.object_lock.days} days`,
      credentials_file: s.credentials_file,
      identity_file: s.identity_file,
      known_hosts: s.known_hosts,
      accept_new_host_key: s.accept_new_host_key,
      sftp_password_file: s.sftp_password_file,
    }),
  };
}

function storageKind(url: string): RepositoryFacts['storage'] {
  if (url.startsWith('s3://')) return 's3';
  if (url.startsWith('sftp://')) return 'sftp';
  if (url.startsWith('file:') || !hasScheme(url)) return 'file';
  return 'other';
}

/** Where the password came from when the pack was made (mirrors credentialEnvOf and resolveCredentials). */
export function secretSource(s: RepositoryConfig, env: NodeJS.ProcessEnv): SecretSource {
  if (s.key_file) return { kind: 'key_file', where: s.key_file };
  if (s.password_file) return { kind: 'password_file', where: s.password_file };
  if (s.password_command) return { kind: 'password_command' };
  if (env.LIFEBOAT_KEY_FILE) return { kind: 'key_file', where: env.LIFEBOAT_KEY_FILE };
  if (env.LIFEBOAT_PASSWORD !== undefined) return { kind: 'environment', where: 'LIFEBOAT_PASSWORD' };
  if (env.LIFEBOAT_PASSWORD_FILE) return { kind: 'password_file', where: env.LIFEBOAT_PASSWORD_FILE };
  if (env.LIFEBOAT_PASSWORD_COMMAND) return { kind: 'environment', where: 'LIFEBOAT_PASSWORD_COMMAND' };
  return { kind: 'prompt' };
}

type Setting = string | boolean | string[];

/** What a source covers, without credentials or command texts. */
export function sourceSettings(s: SourceConfig): Record<string, Setting> {
  const common = { tags: s.tags, smoke: s.smoke && 'a smoke command is configured for drills (see lifeboat.yaml)' };
  switch (s.type) {
    case 'files':
      return defined<Setting>({ paths: s.paths, exclude: s.exclude, one_file_system: s.one_file_system, ...common });
    case 'sqlite':
      return defined<Setting>({ path: s.path, temp_dir: s.temp_dir, ...common });
    case 'postgres':
    case 'mysql':
      return defined<Setting>({
        url: publicUrl(s.url, { user: true }),
        password_file: s.password_file,
        recent_data: s.recent_data && `${s.recent_data.table}.${s.recent_data.column}`,
        ...(s.type === 'postgres' ? { globals: s.globals, bin_dir: s.bin_dir } : {}),
        ...common,
      });
    case 'redis':
      return defined<Setting>({
        url: publicUrl(s.url, { user: true }),
        password_file: s.password_file,
        aof: s.aof,
        ...common,
      });
    case 'victoriametrics':
    case 'prometheus':
      return defined<Setting>({ url: publicUrl(s.url), data_dir: s.data_dir, binary: s.binary, ...common });
    case 'command':
      return defined<Setting>({
        backup: 'configured in lifeboat.yaml (not copied here: a command may hold a token)',
        restore: s.restore ? 'configured in lifeboat.yaml (not copied here)' : 'none configured',
        filename: s.filename,
        timeout: s.timeout,
        ...common,
      });
    case 'docker':
      return defined<Setting>({
        volumes: s.volumes,
        containers: s.containers,
        stop: s.stop ?? 'stop',
        socket: s.socket,
        ...common,
      });
  }
}

export function jobFacts(config: LifeboatConfig): JobFacts[] {
  return Object.entries(config.jobs ?? {}).map(([name, j]) => ({
    name,
    ...(j.schedule ? { schedule: j.schedule } : {}),
    ...(j.timezone ? { timezone: j.timezone } : {}),
    sources: j.sources ?? [],
    ...(j.to ? { to: j.to } : {}),
    copyTo: j.copy_to ?? [],
    then: j.then ?? [],
    ...(j.drill
      ? {
          drill: {
            ...(j.drill.within ? { within: j.drill.within } : {}),
            ...(j.drill.sources ? { sources: j.drill.sources } : {}),
          },
        }
      : {}),
    ...(j.keep_last ? { keepLast: j.keep_last } : {}),
  }));
}

/** Jobs touching a source (a job without sources copies every source), and the repositories they name. */
export function jobsOf(source: string, jobs: JobFacts[]): { jobs: string[]; repositories: string[] } {
  const touching = jobs.filter(
    (j) => j.sources === 'all' || j.sources.includes(source) || (j.sources.length === 0 && j.copyTo.length > 0),
  );
  const repositories = touching.flatMap((j) => [...(j.to ? [j.to] : []), ...j.copyTo]);
  return { jobs: touching.map((j) => j.name), repositories: [...new Set(repositories)] };
}

export function notificationFacts(config: LifeboatConfig): NotificationFacts[] {
  return (config.notify ?? []).map((n): NotificationFacts => {
    const on = n.type === 'ping' ? {} : n.on ? { on: n.on } : {};
    switch (n.type) {
      case 'webhook':
        return {
          type: 'webhook',
          target: originOf(n.url),
          files: defined({ url_file: n.url_file, secret_file: n.secret_file }),
          ...on,
        };
      case 'email':
        return { type: 'email', target: n.to.join(', '), files: { smtp_url_file: n.smtp_url_file }, ...on };
      case 'slack':
      case 'discord':
      case 'teams':
      case 'ntfy':
        return {
          type: n.type,
          target: n.url ? originOf(n.url) : 'the URL in url_file',
          files: defined({ url_file: n.url_file, ...(n.type === 'ntfy' ? { token_file: n.token_file } : {}) }),
          ...on,
        };
      case 'gotify':
        return { type: 'gotify', target: originOf(n.url), files: { token_file: n.token_file }, ...on };
      case 'matrix':
        return {
          type: 'matrix',
          target: `${n.room} on ${originOf(n.homeserver)}`,
          files: { access_token_file: n.access_token_file },
          ...on,
        };
      case 'ping':
        return {
          type: 'ping',
          target: n.url ? originOf(n.url) : 'the URL in url_file',
          files: defined({ url_file: n.url_file }),
          ...(n.jobs ? { jobs: n.jobs } : {}),
        };
    }
  });
}

/** The entries whose value is set. */
function defined<T>(values: Record<string, T | undefined>): Record<string, T> {
  return Object.fromEntries(Object.entries(values).filter((e): e is [string, T] => e[1] !== undefined));
}
