/**
 * Relative file paths in the config are relative to the config file, so a
 * config means the same thing whatever directory lifeboat runs from.
 *
 * @module
 */

import path from 'node:path';
import type { LifeboatConfig } from './schema.js';

const FILE_KEYS = new Set([
  'password_file',
  'key_file',
  'credentials_file',
  'identity_file',
  'known_hosts',
  'token_file',
  'smtp_url_file',
  'secret_file',
  'url_file',
  'sftp_password_file',
  'mount_point',
  'temp_dir',
  'data_dir',
  'state_dir',
  'spool_dir',
]);

export function resolveRelativePaths(config: LifeboatConfig, base: string): LifeboatConfig {
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.resolve(base, p));
  const walk = (value: unknown, key: string | undefined, parentType: unknown): unknown => {
    if (Array.isArray(value))
      return value.map((v) => (key === 'paths' && typeof v === 'string' ? abs(v) : walk(v, undefined, undefined)));
    if (value && typeof value === 'object') {
      const obj = value as Record<string, unknown>;
      return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, walk(v, k, obj.type)]));
    }
    if (typeof value !== 'string' || !key) return value;
    if (FILE_KEYS.has(key)) return abs(value);
    // A sqlite source's `path`; a repository `url` that is a plain path.
    if (key === 'path' && parentType === 'sqlite') return abs(value);
    if (key === 'url' && parentType === undefined && !/^[a-z][a-z0-9+.-]*:/i.test(value)) return abs(value);
    return value;
  };
  return walk(config, undefined, undefined) as LifeboatConfig;
}
