import type { Command } from 'commander';
import { ErrorCode, LifeboatError } from '../errors/index.js';
import { defaultCacheRoot } from '../repository/cache.js';
import { resolveCredentials } from '../repository/crypto/index.js';
import { Repository } from '../repository/repository.js';
import type { WriteOnlyRepository } from '../repository/write-only-repository.js';
import { stateDir } from '../state/state-dir.js';
import { openStorage } from '../storage/registry.js';
import { Output } from './output.js';
import { promptHidden } from './prompt.js';
import { parseDuration } from '../config/duration.js';
import { chooseRepository, credentialEnv, optionalConfig, remoteSettings } from './configured.js';
import { assertConnected } from '../storage/mount-check.js';
import { setSecretFilePolicy } from '../util/secret-file-mode.js';
import type { GlobalOptions } from './global-options.js';
import { tracePhase } from '../util/trace-timing.js';
import { parseMemoryProfile, setMemoryProfile } from '../util/memory-profile.js';

export type { GlobalOptions } from './global-options.js';

export interface CommandContext {
  global: GlobalOptions;
  out: Output;
  signal: AbortSignal;
}

export function contextFor(command: Command, signal: AbortSignal): CommandContext {
  const global = command.optsWithGlobals<GlobalOptions>();
  const showProgress = global.progress !== false && !global.json && !global.quiet && Boolean(process.stderr.isTTY);
  const out = new Output({
    json: Boolean(global.json),
    quiet: Boolean(global.quiet),
    verbose: Boolean(global.verbose),
    progress: showProgress,
  });
  setSecretFilePolicy({ strict: Boolean(global.strictPermissions), warn: (m) => out.warn(m) });
  return { global, out, signal };
}

export function repositoryLocation(global: GlobalOptions): string {
  return chooseRepository(global).location;
}

function passwordPrompt(): ((q: string) => Promise<string>) | undefined {
  return process.stdin.isTTY && process.stderr.isTTY ? promptHidden : undefined;
}

export function cacheRoot(global: GlobalOptions): string | undefined {
  return global.cache === false ? undefined : defaultCacheRoot();
}

/** Open the repository named by --repo with the configured credentials. */
export function openRepository(ctx: CommandContext): Promise<Repository> {
  return openChosen(ctx, (storage, credentials, options) => Repository.open(storage, credentials, options));
}

/** Open the repository to add a backup: a write-only key gives a repository that can do only that. */
export function openRepositoryForBackup(ctx: CommandContext): Promise<Repository | WriteOnlyRepository> {
  return openChosen(ctx, (storage, credentials, options) =>
    Repository.openForBackup(storage, credentials, {
      ...options,
      stateDir: stateDir(optionalConfig(ctx.global)?.config.state_dir),
    }),
  );
}

async function openChosen<R>(
  ctx: CommandContext,
  opener: (...args: Parameters<typeof Repository.open>) => Promise<R>,
): Promise<R> {
  const choice = chooseRepository(ctx.global);
  if (choice.settings?.require_mount) assertConnected(choice.name!, choice.location, choice.settings.mount_point);
  const storage = await openStorage(choice.location, { remote: remoteSettings(choice) });
  tracePhase('storage opened');
  try {
    const keyFile = ctx.global.keyFile ?? choice.settings?.key_file;
    const credentials = await resolveCredentials({ keyFile, env: credentialEnv(choice), prompt: passwordPrompt() });
    const repo = await opener(storage, credentials, {
      cacheRoot: cacheRoot(ctx.global),
      lockWaitMs: lockWaitMs(ctx.global),
    });
    tracePhase('repository opened');
    return repo;
  } catch (err) {
    await storage.close();
    throw err;
  }
}

/**
 * `--memory PROFILE`, else `$LIFEBOAT_MEMORY`, else `default`, for the rest of
 * the process. An unknown profile is a usage error (exit 2).
 */
export function applyMemoryProfile(global: GlobalOptions, env: NodeJS.ProcessEnv = process.env): void {
  const fromEnv = env.LIFEBOAT_MEMORY?.trim() ? env.LIFEBOAT_MEMORY : undefined;
  if (global.memory !== undefined) setMemoryProfile(parseMemoryProfile(global.memory, '--memory'));
  else if (fromEnv !== undefined) setMemoryProfile(parseMemoryProfile(fromEnv, 'LIFEBOAT_MEMORY'));
}

/** `--retry-lock` in milliseconds (0: fail at once on a conflicting lock). */
export function lockWaitMs(global: GlobalOptions): number {
  if (!global.retryLock) return 0;
  try {
    return parseDuration(global.retryLock) * 1000;
  } catch (err) {
    throw new LifeboatError(ErrorCode.Usage, `--retry-lock: ${(err as Error).message}`);
  }
}

/** Run with an open repository and always close it. */
export async function withRepository<T>(ctx: CommandContext, fn: (repo: Repository) => Promise<T>): Promise<T> {
  const repo = await openRepository(ctx);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
    tracePhase('repository closed');
  }
}

/** `withRepository` for a backup (see `openRepositoryForBackup`). */
export async function withBackupRepository<T>(
  ctx: CommandContext,
  fn: (repo: Repository | WriteOnlyRepository) => Promise<T>,
): Promise<T> {
  const repo = await openRepositoryForBackup(ctx);
  try {
    return await fn(repo);
  } finally {
    await repo.close();
    tracePhase('repository closed');
  }
}

/** A new password for `init`, `key add` and `key passwd`: never from a flag. */
export async function newPassword(
  variable: 'LIFEBOAT_PASSWORD' | 'LIFEBOAT_NEW_PASSWORD',
  env: NodeJS.ProcessEnv = process.env,
): Promise<Buffer> {
  const prompt = passwordPrompt();
  const creds = await resolveCredentials({ variable, prompt, noKeyFile: true, env });
  if (creds.kind !== 'password') throw new LifeboatError(ErrorCode.Usage, 'a new password is needed, not a key file');
  if (creds.source === 'prompt' && prompt) {
    const again = await prompt('Repeat the password: ');
    if (again !== creds.password.toString('utf8'))
      throw new LifeboatError(ErrorCode.Usage, 'the passwords do not match');
  }
  if (creds.password.length === 0)
    throw new LifeboatError(ErrorCode.NoPassword, 'an empty password is not allowed', {
      hint: 'choose a long passphrase',
    });
  return creds.password;
}
