/**
 * The fast path of `lifeboat wal-push --async`, PostgreSQL's archive_command:
 * a process per WAL segment must not pay for loading every command and
 * validating the whole config. It reads only the keys it needs from
 * lifeboat.yaml (`state_dir`, the source's `type` and `pitr.spool_dir`), copies
 * the segment into the spool with fsync, and exits; it never opens the
 * repository. Any other form of the command line (`--json`, `--help`, other
 * flags) runs the full CLI, which behaves the same.
 *
 * @module
 */

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { expandEnv } from '../config/env-expand.js';
import { locateConfig } from '../config/locate.js';
import { ErrorCode, LifeboatError, exitCodeFor } from '../errors/index.js';
import { stateDir } from '../state/state-dir.js';
import { spoolDirFor } from '../sources/postgres/pitr/spool-dir.js';
import { spoolWal } from '../sources/postgres/pitr/spool.js';

export interface AsyncPushArgs {
  config?: string;
  /** Accepted for the same command line as the full CLI; the one result line is printed either way. */
  quiet: boolean;
  source: string;
  file: string;
}

/** The arguments when they are exactly `[--config F] [--quiet] wal-push --async --source NAME PATH` (in any order after the command), else undefined. */
export function asyncWalPushArgs(args: string[]): AsyncPushArgs | undefined {
  let config: string | undefined;
  let quiet = false;
  let i = 0;
  for (; i < args.length && args[i] !== 'wal-push'; i++) {
    const a = args[i]!;
    if (a === '--quiet') quiet = true;
    else if (a === '--config' && i + 1 < args.length) config = args[++i];
    else if (a.startsWith('--config=')) config = a.slice('--config='.length);
    else return undefined;
  }
  if (args[i] !== 'wal-push') return undefined;
  let async = false;
  let source: string | undefined;
  let file: string | undefined;
  for (i++; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--async') async = true;
    else if (a === '--quiet') quiet = true;
    else if (a === '--source' && i + 1 < args.length) source = args[++i];
    else if (a.startsWith('--source=')) source = a.slice('--source='.length);
    else if (!a.startsWith('-') && file === undefined) file = a;
    else return undefined;
  }
  return async && source && file ? { config, quiet, source, file } : undefined;
}

function stringAt(value: unknown, where: string, file: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new LifeboatError(ErrorCode.Config, `${file}: ${where} must be a string`, {
      hint: 'run `lifeboat config validate`',
    });
  const { value: expanded, missing } = expandEnv(value);
  if (missing.length)
    throw new LifeboatError(ErrorCode.Config, `${file}: ${where}: environment variable ${missing[0]} is not set`);
  return expanded;
}

/** The spool directory of a source, from the few keys of the config that decide it. */
export function spoolDirFromConfig(configFile: string, source: string): string {
  let doc: Record<string, unknown> | null;
  try {
    doc = parse(readFileSync(configFile, 'utf8')) as Record<string, unknown> | null;
  } catch (err) {
    throw new LifeboatError(ErrorCode.Config, `${configFile} cannot be read: ${(err as Error).message}`, {
      hint: 'run `lifeboat config validate`',
    });
  }
  const sources = (doc?.sources ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const s = sources[source];
  if (!s)
    throw new LifeboatError(ErrorCode.Usage, `no source "${source}" in the config`, {
      hint: 'check --source against `sources:` in lifeboat.yaml',
    });
  if (s.type !== 'postgres')
    throw new LifeboatError(
      ErrorCode.Usage,
      `source "${source}" is a ${String(s.type)} source; wal-push works on postgres sources`,
    );
  const pitr = s.pitr as Record<string, unknown> | undefined;
  if (!pitr || typeof pitr !== 'object')
    throw new LifeboatError(ErrorCode.Config, `source "${source}" has no \`pitr:\` settings`, {
      hint: 'add `pitr: { wal: archive }` to the source; see docs/sources/postgres.md',
    });
  const base = path.dirname(configFile);
  const abs = (p: string | undefined) => (p === undefined ? undefined : path.resolve(base, p));
  const configuredState = abs(stringAt(doc?.state_dir, 'state_dir', configFile));
  const spool = abs(stringAt(pitr.spool_dir, `sources.${source}.pitr.spool_dir`, configFile));
  return spoolDirFor(source, spool, stateDir(configuredState));
}

/** Run the fast path; returns the exit code. Output and errors read as the full CLI's do. */
export async function runAsyncWalPush(a: AsyncPushArgs): Promise<number> {
  try {
    const configFile = locateConfig(a.config);
    if (!configFile)
      throw new LifeboatError(ErrorCode.Config, 'wal-push needs a lifeboat.yaml', {
        hint: 'pass --config FILE, set $LIFEBOAT_CONFIG, or create one with `lifeboat init --config-template`',
      });
    const dir = spoolDirFromConfig(configFile, a.source);
    const how = await spoolWal(dir, a.file);
    process.stdout.write(`${path.basename(a.file)}: ${how} in ${dir}\n`);
    return 0;
  } catch (err) {
    const e =
      err instanceof LifeboatError
        ? err
        : new LifeboatError(ErrorCode.Failure, (err as Error)?.message ?? String(err), { cause: err });
    process.stderr.write(`error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
    return exitCodeFor(e.code);
  }
}
