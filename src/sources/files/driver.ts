import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describeInputErrors } from '../../archiver/backup.js';
import { compileExcludes } from '../../archiver/excludes.js';
import { inputProblem } from '../../archiver/given-inputs.js';
import type { InputError } from '../../archiver/walker.js';
import type { StreamEntry } from '../../archiver/virtual-root.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { restore } from '../../restorer/restore.js';
import type { Restored, RestoreContext, SourceDriver, SourceRecord } from '../contract.js';
import { scratchDir } from '../scratch-dir.js';
import { expandPaths } from './expand-paths.js';
import { readIdentities, sealFile } from './seal.js';
import { restoreSealed, type SealedDir, type SealedEntry } from './seal-restore.js';
import { makeDirectories } from '../../util/make-dirs.js';

type FilesConfig = SourceConfigOf<'files'>;

/** Suffix of a sealed file inside the snapshot: `/etc/app/secrets.yaml` is stored as `/etc/app/secrets.yaml.age`. */
export const SEALED_SUFFIX = '.age';

/**
 * Files and directories (docs/sources/): the archiver walks them with their modes,
 * owners, times, symlinks and hardlinks. With `seal_to`, each file is instead
 * sealed with age to the given recipients before it enters the repository.
 */
export const filesSource: SourceDriver<'files'> = {
  type: 'files',
  verifiedFields: ['files', 'bytes'],
  scratchTarget: scratchDir(),

  async capture(config, ctx) {
    const { paths, unmatched } = await expandPaths(config.paths);
    // A glob that matches nothing is an input error like a missing path: named, and exit 3 (or 1 when nothing was saved).
    const globErrors: InputError[] = unmatched.map((u) => ({
      path: u,
      message: 'no file matches this glob',
      given: true as const,
    }));
    for (const e of globErrors) ctx.log(`${e.path}: ${e.message}`);
    const missing: InputError[] = paths.flatMap((p) => {
      const problem = inputProblem(p);
      return problem ? [{ path: p, message: problem, given: true as const }] : [];
    });
    if (missing.length === paths.length) {
      // Not one input to read: a failed source, never an empty snapshot.
      throw new LifeboatError(
        ErrorCode.SourceFailed,
        `source "${ctx.sourceName}": none of its paths can be backed up, no snapshot saved: ${describeInputErrors([...globErrors, ...missing])}`,
        {
          hint: 'check `paths` in lifeboat.yaml (a typo, an unmounted disk, a glob that matches nothing)',
        },
      );
    }
    if (!config.seal_to) {
      return {
        paths,
        excludes: config.exclude,
        inputErrors: globErrors,
        record: async (stored) => ({ files: stored.files, bytes: stored.bytes, paths }),
      };
    }
    const { entries, dirs, errors } = await sealedEntries(paths, config);
    const inputErrors = [...globErrors, ...errors];
    const streams: StreamEntry[] = entries.map((e) => ({
      kind: 'stream',
      path: e.path + SEALED_SUFFIX,
      mode: e.mode,
      open: () => sealFile(e.path, config.seal_to!),
    }));
    if (streams.length === 0) {
      throw new LifeboatError(
        ErrorCode.NothingBackedUp,
        `source "${ctx.sourceName}": no files to seal, no snapshot saved${inputErrors.length ? `: ${describeInputErrors(inputErrors)}` : ''}`,
        { hint: 'check `paths` and `exclude`' },
      );
    }
    return {
      streams,
      inputErrors,
      record: async () => ({
        sealed: true,
        recipients: config.seal_to,
        files: entries.length,
        bytes: entries.reduce((n, e) => n + e.size, 0),
        entries,
        dirs,
      }),
    };
  },

  async restore(ctx: RestoreContext<'files'>): Promise<Restored> {
    if (!ctx.target) throw new LifeboatError(ErrorCode.Usage, 'restoring files needs --target DIR');
    const target = path.resolve(ctx.target);
    await refuseNonEmptyDir(target, ctx.force);
    const record = (ctx.snapshot.metadata as { record?: SourceRecord }).record ?? {};
    if (record.sealed) {
      if (!ctx.identity)
        throw new LifeboatError(
          ErrorCode.Usage,
          'this snapshot is sealed with age; restoring it needs --identity FILE',
          { hint: 'the identity is the offline key whose recipient is in seal_to' },
        );
      const identities = await readIdentities(ctx.identity);
      await restoreSealed(
        ctx.repo,
        ctx.snapshot,
        target,
        record.entries as SealedEntry[],
        (record.dirs as SealedDir[] | undefined) ?? [],
        identities,
        SEALED_SUFFIX,
      );
      return {
        location: target,
        details: { dir: target, files: (record.entries as SealedEntry[]).map((e) => e.path) },
      };
    }
    const result = await restore(ctx.repo, ctx.snapshot, { target, signal: ctx.signal });
    if (result.errors.length)
      throw new LifeboatError(
        ErrorCode.PartialBackup,
        `${result.errors.length} file(s) could not be restored: ${result.errors[0]!.path}: ${result.errors[0]!.message}`,
      );
    const files = [...result.plan.files, ...result.plan.hardlinks].map((e) => e.path);
    return { location: target, details: { dir: target, files } };
  },

  // Only what the snapshot put there: with --force the target may hold other files, which are not the restore's.
  async inspect(restored) {
    return countRestoredFiles(String(restored.details.dir), restored.details.files as string[]);
  },
};

/** The files to seal, the directories walked on the way (their modes and times are restored too), and the given paths that cannot be read. */
async function sealedEntries(
  paths: string[],
  config: FilesConfig,
): Promise<{ entries: SealedEntry[]; dirs: SealedDir[]; errors: InputError[] }> {
  const excluded = compileExcludes(config.exclude ?? []);
  const entries: SealedEntry[] = [];
  const dirs: SealedDir[] = [];
  const errors: InputError[] = [];
  const visit = async (p: string, given: boolean) => {
    if (excluded(p)) return;
    const problem = given ? inputProblem(p) : undefined;
    if (problem) return void errors.push({ path: p, message: problem, given: true });
    const st = await lstat(p, { bigint: true }).catch(() => undefined);
    if (!st) return;
    if (st.isDirectory()) {
      dirs.push({ path: p, mode: Number(st.mode) & 0o7777, mtimeNs: st.mtimeNs.toString() });
      for (const name of (await readdir(p)).sort()) await visit(path.join(p, name), false);
    } else if (st.isFile()) {
      entries.push({ path: p, mode: Number(st.mode) & 0o7777, size: Number(st.size), mtimeNs: st.mtimeNs.toString() });
    }
  };
  for (const p of paths) await visit(p, true);
  return { entries, dirs, errors };
}

async function refuseNonEmptyDir(dir: string, force: boolean | undefined): Promise<void> {
  const entries = await readdir(dir).catch(() => undefined);
  if (entries === undefined) {
    await makeDirectories(dir, 0o700);
    return;
  }
  if (entries.length && !force) {
    throw new LifeboatError(
      ErrorCode.Refused,
      `${dir} is not empty; a restore does not mix with existing files unless told to`,
      { hint: 'pass --force, or restore into an empty directory' },
    );
  }
}

/** Regular files and their bytes at the snapshot's paths below the target: what a files record counts. */
async function countRestoredFiles(dir: string, files: readonly string[]): Promise<{ files: number; bytes: number }> {
  let count = 0;
  let bytes = 0;
  for (const p of files) {
    const st = await lstat(path.join(dir, p)).catch(() => undefined);
    if (!st?.isFile()) continue;
    count++;
    bytes += st.size;
  }
  return { files: count, bytes };
}
