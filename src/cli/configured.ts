import { loadConfig, type LoadedConfig } from '../config/load.js';
import { locateConfig } from '../config/locate.js';
import type { RepositoryConfig } from '../config/schema.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { GlobalOptions } from './global-options.js';
import type { RemoteSettings } from '../storage/contract.js';
import { credentialEnvOf, remoteSettingsOf } from '../config/repository-access.js';
import { ledgerDirFor, useLedger } from '../leftovers/ledger.js';

const loaded = new Map<string, LoadedConfig>();

/** The config named by --config / $LIFEBOAT_CONFIG / the defaults, or undefined when there is none. */
export function optionalConfig(global: GlobalOptions): LoadedConfig | undefined {
  const file = locateConfig(global.config);
  if (!file) return undefined;
  let config = loaded.get(file);
  if (!config) {
    config = loadConfig(file);
    loaded.set(file, config);
    // What this process makes outside itself is recorded under the config's state_dir from now on.
    useLedger(ledgerDirFor(config.config.state_dir));
  }
  return config;
}

/** The config, which this command cannot do without. */
export function requireConfig(global: GlobalOptions, why: string): LoadedConfig {
  const config = optionalConfig(global);
  if (!config) {
    throw new LifeboatError(ErrorCode.Config, `${why} needs a lifeboat.yaml`, {
      hint: 'pass --config FILE, set $LIFEBOAT_CONFIG, or create one with `lifeboat init --config-template`',
    });
  }
  return config;
}

export interface RepositoryChoice {
  location: string;
  /** The configured repository, when the location came from the config. */
  name?: string;
  settings?: RepositoryConfig;
}

/**
 * Which repository a command works on: `--repo` as a configured name or a
 * location, else $LIFEBOAT_REPOSITORY, else the only configured repository.
 */
export function chooseRepository(global: GlobalOptions): RepositoryChoice {
  const repos = optionalConfig(global)?.config.repositories ?? {};
  const given = global.repo ?? process.env.LIFEBOAT_REPOSITORY;
  if (given) {
    const settings = repos[given];
    return settings ? { location: settings.url, name: given, settings } : { location: given };
  }
  const names = Object.keys(repos);
  if (names.length === 1) return { location: repos[names[0]!]!.url, name: names[0]!, settings: repos[names[0]!]! };
  throw new LifeboatError(
    ErrorCode.Usage,
    names.length
      ? `${names.length} repositories are configured (${names.join(', ')}): name one with --repo NAME`
      : 'no repository given',
    {
      hint: names.length ? `pass --repo ${names.join('|')}` : 'pass --repo PATH|URL|NAME or set LIFEBOAT_REPOSITORY',
    },
  );
}

/**
 * For a command that changes or writes from one repository (`forget`,
 * `restore`): with several configured, it never picks one itself; the user
 * names it, and is told the choices.
 */
export function requireChosenRepository(global: GlobalOptions, command: string, what: string): void {
  if (global.repo ?? process.env.LIFEBOAT_REPOSITORY) return;
  const names = Object.keys(optionalConfig(global)?.config.repositories ?? {});
  if (names.length < 2) return;
  throw new LifeboatError(
    ErrorCode.Usage,
    `${command} ${what}: name the repository with --repo NAME (configured: ${names.join(', ')})`,
    {
      hint: `e.g. lifeboat ${command} --repo ${names[0]} …`,
    },
  );
}

/** Remote storage settings of a configured repository, for its driver. */
export function remoteSettings(choice: RepositoryChoice): RemoteSettings | undefined {
  return remoteSettingsOf(choice.settings);
}

/** The environment credentials are read from: a configured repository's own secret settings take precedence. */
export function credentialEnv(choice: RepositoryChoice): NodeJS.ProcessEnv {
  return credentialEnvOf(choice.settings);
}
