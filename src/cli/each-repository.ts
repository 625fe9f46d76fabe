import { ErrorCode, ExitCode, LifeboatError, exitCodeFor } from '../errors/index.js';
import type { Repository } from '../repository/repository.js';
import { optionalConfig } from './configured.js';
import { withRepository, type CommandContext, type GlobalOptions } from './context.js';
import { Output } from './output.js';

/** What a command's work in one repository returns when that repository holds nothing it asked for. */
export const NOT_HERE = Symbol('not here');

/**
 * The configured repositories a read-only command goes through: every one when
 * two or more are configured and neither `--repo` nor $LIFEBOAT_REPOSITORY names
 * one; otherwise undefined (the command works on the one repository chosen as usual).
 */
export function repositoriesToRead(global: GlobalOptions): string[] | undefined {
  if (global.repo ?? process.env.LIFEBOAT_REPOSITORY) return undefined;
  const names = Object.keys(optionalConfig(global)?.config.repositories ?? {});
  return names.length > 1 ? names : undefined;
}

/**
 * Run a read-only command in each repository it should read (see
 * `repositoriesToRead`): text grouped under `repository NAME:`, every --json
 * line carrying `repositoryName`. A repository that cannot be opened or fails
 * does not stop the others; the exit code is the first failure's. When every
 * repository answers NOT_HERE, `nowhere` says what was not found (exit 1).
 */
export async function forEachRepository(
  ctx: CommandContext,
  fn: (ctx: CommandContext, repo: Repository) => Promise<number | void | typeof NOT_HERE>,
  nowhere?: () => LifeboatError,
): Promise<number> {
  const names = repositoriesToRead(ctx.global);
  if (!names) {
    const code = await withRepository(ctx, (repo) => fn(ctx, repo));
    if (code === NOT_HERE)
      throw nowhere?.() ?? new LifeboatError(ErrorCode.NotFound, 'nothing found in the repository');
    return code ?? ExitCode.Success;
  }
  let code: number = ExitCode.Success;
  let found = false;
  for (const name of names) {
    const one: CommandContext = {
      ...ctx,
      global: { ...ctx.global, repo: name },
      out: new RepositoryOutput(ctx.out.options, name),
    };
    ctx.out.result(`repository ${name}:`);
    try {
      const c = await withRepository(one, (repo) => fn(one, repo));
      if (c === NOT_HERE) continue;
      found = true;
      if (c && code === ExitCode.Success) code = c;
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      found = true;
      const c = one.out.error(err);
      if (code === ExitCode.Success) code = c;
    }
  }
  if (!found)
    return ctx.out.error(
      nowhere?.() ?? new LifeboatError(ErrorCode.NotFound, 'nothing found in any configured repository'),
    );
  return code;
}

/** Output for one of several repositories: JSON lines and errors name the repository. */
class RepositoryOutput extends Output {
  constructor(
    options: Output['options'],
    private readonly name: string,
  ) {
    super(options);
  }

  override emit(value: unknown): void {
    super.emit(
      value && typeof value === 'object' && !Array.isArray(value)
        ? { repositoryName: this.name, ...value }
        : { repositoryName: this.name, value },
    );
  }

  override error(err: unknown): number {
    const e =
      err instanceof LifeboatError
        ? err
        : new LifeboatError(ErrorCode.Failure, (err as Error)?.message ?? String(err), { cause: err });
    if (this.json)
      process.stdout.write(`${JSON.stringify({ type: 'error', repositoryName: this.name, error: e.toJSON() })}\n`);
    else {
      process.stderr.write(`error: repository ${this.name}: ${e.message}\n`);
      if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    }
    return exitCodeFor(e.code);
  }
}
