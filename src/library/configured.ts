import { loadConfig, type LoadedConfig } from '../config/load.js';
import { locateConfig } from '../config/locate.js';
import { openConfiguredRepository } from '../config/repository-access.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';

/**
 * A configuration found as the CLI finds it: `file`, else `$LIFEBOAT_CONFIG`,
 * `./lifeboat.yaml`, `/etc/lifeboat/lifeboat.yaml`. LifeboatError `config` when none.
 */
export function openConfig(file?: string): LoadedConfig {
  const found = locateConfig(file);
  if (!found)
    throw new LifeboatError(ErrorCode.Config, 'no lifeboat.yaml found', {
      hint: 'pass the file, or set LIFEBOAT_CONFIG',
    });
  return loadConfig(found);
}

/** A repository of the configuration, opened with its configured password source (`lifeboat --repo NAME`). */
export async function openRepository(
  loaded: LoadedConfig,
  name: string,
  options: { cacheRoot?: string } = {},
): Promise<Repository> {
  const settings = loaded.config.repositories?.[name];
  if (!settings)
    throw new LifeboatError(ErrorCode.Config, `no repository "${name}" in ${loaded.file}`, {
      hint: `configured: ${Object.keys(loaded.config.repositories ?? {}).join(', ')}`,
    });
  return openConfiguredRepository(name, settings, options);
}
