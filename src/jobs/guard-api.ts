import { loadConfig } from '../config/load.js';
import { locateConfig } from '../config/locate.js';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { guardWithConfig, type GuardOptions } from './guard.js';

/**
 * The library form of `lifeboat guard`, for Node applications:
 *
 *   import { guard } from 'lifeboat';
 *   await guard({ source: 'main-pg', reason: 'migration 048' }, () => migrate());
 *
 * The migration runs only after a verified backup; its result is returned.
 */
export async function guard<T>(
  options: Omit<GuardOptions, 'source'> & { source?: string | string[]; config?: string },
  action: () => Promise<T>,
): Promise<T> {
  const file = locateConfig(options.config);
  if (!file)
    throw new LifeboatError(ErrorCode.Config, 'guard needs a lifeboat.yaml', {
      hint: 'pass { config: "/etc/lifeboat/lifeboat.yaml" } or set LIFEBOAT_CONFIG',
    });
  const source =
    options.source === undefined ? undefined : Array.isArray(options.source) ? options.source : [options.source];
  const { result } = await guardWithConfig(loadConfig(file), { ...options, source }, action);
  return result;
}
