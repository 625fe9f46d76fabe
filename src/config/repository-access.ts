import { assertConnected } from '../storage/mount-check.js';
import { resolveCredentials } from '../repository/crypto/index.js';
import { Repository } from '../repository/repository.js';
import type { RemoteSettings } from '../storage/contract.js';
import { openStorage } from '../storage/registry.js';
import type { RepositoryConfig } from './schema.js';

/** Remote storage settings of a configured repository, for its driver. */
export function remoteSettingsOf(s: RepositoryConfig | undefined): RemoteSettings | undefined {
  if (!s) return undefined;
  return {
    endpoint: s.endpoint,
    region: s.region,
    allowedRegions: s.allowed_regions,
    pathStyle: s.path_style,
    storageClass: s.storage_class,
    serverSideEncryption: s.server_side_encryption,
    ...(s.object_lock ? { objectLock: { mode: s.object_lock.mode, days: s.object_lock.days } } : {}),
    credentialsFile: s.credentials_file,
    identityFile: s.identity_file,
    knownHosts: s.known_hosts,
    acceptNewHostKey: s.accept_new_host_key,
    passwordFile: s.sftp_password_file,
    tokenFile: s.token_file,
  };
}

/** The environment credentials are read from: a configured repository's own secret settings take precedence. */
export function credentialEnvOf(
  s: RepositoryConfig | undefined,
  base: NodeJS.ProcessEnv = process.env,
): NodeJS.ProcessEnv {
  if (!s || !(s.password_file || s.password_command)) return base;
  const env: NodeJS.ProcessEnv = { ...base };
  delete env.LIFEBOAT_PASSWORD;
  delete env.LIFEBOAT_PASSWORD_FILE;
  delete env.LIFEBOAT_PASSWORD_COMMAND;
  if (s.password_file) env.LIFEBOAT_PASSWORD_FILE = s.password_file;
  if (s.password_command) env.LIFEBOAT_PASSWORD_COMMAND = s.password_command;
  return env;
}

export interface OpenConfiguredOptions {
  cacheRoot?: string;
  /** Keep trying this long when another process holds a conflicting lock. */
  lockWaitMs?: number;
  keyFile?: string;
  prompt?: (question: string) => Promise<string>;
}

/** Open a repository of lifeboat.yaml by name: its URL, settings and credentials; removable media must be connected. */
export async function openConfiguredRepository(
  name: string,
  settings: RepositoryConfig,
  options: OpenConfiguredOptions = {},
): Promise<Repository> {
  if (settings.require_mount) assertConnected(name, settings.url, settings.mount_point);
  const storage = await openStorage(settings.url, { remote: remoteSettingsOf(settings) });
  try {
    const credentials = await resolveCredentials({
      keyFile: options.keyFile ?? settings.key_file,
      env: credentialEnvOf(settings),
      prompt: options.prompt,
    });
    return await Repository.open(storage, credentials, {
      cacheRoot: options.cacheRoot,
      lockWaitMs: options.lockWaitMs,
    });
  } catch (err) {
    await storage.close();
    throw err;
  }
}
