import { existsSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../errors/index.js';

/** Where the config is looked for when --config is not given (docs/cli.md). */
export function defaultConfigCandidates(env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): string[] {
  return [env.LIFEBOAT_CONFIG, path.join(cwd, 'lifeboat.yaml'), '/etc/lifeboat/lifeboat.yaml'].filter(
    (p): p is string => Boolean(p),
  );
}

/**
 * The config file to read: the explicit one (which must exist), else
 * `$LIFEBOAT_CONFIG` (which must exist too), else the first default that exists.
 */
export function locateConfig(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string | undefined {
  const named = explicit ?? env.LIFEBOAT_CONFIG;
  if (named) {
    const resolved = path.resolve(cwd, named);
    if (!existsSync(resolved)) {
      throw new LifeboatError(ErrorCode.Config, `config file ${resolved} does not exist`, {
        hint: explicit
          ? 'check the --config path'
          : 'check $LIFEBOAT_CONFIG, or create one with `lifeboat init --config-template`',
      });
    }
    return resolved;
  }
  return defaultConfigCandidates({}, cwd).find((p) => existsSync(p));
}
