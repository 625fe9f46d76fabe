import { openConfiguredRepository } from '../config/repository-access.js';
import { resolveCredentials } from '../repository/crypto/index.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/registry.js';
import { optionalConfig } from './configured.js';
import { cacheRoot, type CommandContext } from './context.js';
import { promptHidden } from './prompt.js';

/**
 * The repository `copy --to` writes into, opened with its own credentials: a
 * repository of lifeboat.yaml by name (its URL, storage settings, password
 * file or command, key file; removable media must be mounted), or a location
 * whose password comes from LIFEBOAT_TO_PASSWORD, LIFEBOAT_TO_PASSWORD_FILE or
 * LIFEBOAT_TO_PASSWORD_COMMAND, or a recovery key from LIFEBOAT_TO_KEY_FILE —
 * so the source's password is never tried on it by accident, and no password
 * is ever a flag.
 */
export async function openDestination(ctx: CommandContext, to: string): Promise<Repository> {
  const prompt =
    process.stdin.isTTY && process.stderr.isTTY ? () => promptHidden('Destination repository password: ') : undefined;
  const cache = cacheRoot(ctx.global);
  const configured = optionalConfig(ctx.global)?.config.repositories?.[to];
  if (configured) return openConfiguredRepository(to, configured, { cacheRoot: cache, prompt });
  const storage = await openStorage(to);
  try {
    const credentials = await resolveCredentials({
      variable: 'LIFEBOAT_TO_PASSWORD',
      keyFile: process.env.LIFEBOAT_TO_KEY_FILE || undefined,
      prompt,
    });
    return await Repository.open(storage, credentials, { cacheRoot: cache });
  } catch (err) {
    await storage.close();
    throw err;
  }
}
