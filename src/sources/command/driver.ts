import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { parseDuration } from '../../config/duration.js';
import type { SourceConfigOf } from '../../config/source-schemas.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { childOutput, feedChild, runChild } from '../child-process.js';
import type { Restored, RestoreContext, SourceDriver } from '../contract.js';
import { StreamTally, tallyFile } from '../hashing.js';
import { refuseExisting, writeStreamAtomically } from '../restore-file.js';
import { scratchFile } from '../scratch-dir.js';
import { readSnapshotFile, snapshotFileNode } from '../snapshot-file.js';

type CommandConfig = SourceConfigOf<'command'>;

/** Where the command's output lives inside the snapshot. */
export function commandStreamPath(sourceName: string, config?: Pick<CommandConfig, 'filename'>): string {
  return `/command/${config?.filename ?? `${sourceName}.out`}`;
}

const shell = (script: string, label: string, extra: Partial<Parameters<typeof feedChild>[0]> = {}) => ({
  label,
  command: '/bin/sh',
  args: ['-c', script],
  ...extra,
});

/** `{file}` in a backup or restore template, quoted for the shell. */
function withFile(template: string, file: string): string {
  return template.split('{file}').join(`'${file.replace(/'/g, `'\\''`)}'`);
}

/**
 * A command's standard output as the backup (Vault raft, etcd, k3s, custom
 * tools). A non-zero exit fails the backup; restore feeds the stream to the
 * configured restore command or writes it to a file.
 */
export const commandSource: SourceDriver<'command'> = {
  type: 'command',
  verifiedFields: ['bytes', 'sha256'],
  // To a file, never through the configured restore command: that would write to the production system.
  scratchTarget: scratchFile('output'),

  async capture(config, ctx) {
    const tally = new StreamTally();
    const started = Date.now();
    let finished = 0;
    const timeoutMs = config.timeout ? parseDuration(config.timeout) * 1000 : undefined;
    const label = `backup command of source "${ctx.sourceName}"`;
    // With {file} the command writes a file (for tools that seek in their output); otherwise its standard output is a pipe.
    const output = async function* (signal: AbortSignal): AsyncGenerator<Buffer> {
      if (!config.backup.includes('{file}')) {
        yield* childOutput(shell(config.backup, label, { signal, timeoutMs, pipeDir: ctx.tempDir }));
        return;
      }
      const file = path.join(ctx.tempDir, 'backup-output');
      await runChild(shell(withFile(config.backup, file), label, { signal, timeoutMs }));
      const written = await stat(file).catch(() => undefined);
      if (!written?.isFile()) {
        throw new LifeboatError(ErrorCode.SourceFailed, `${label} exited 0 but wrote no file at {file}`, {
          hint: 'the command must write its backup to the path that replaces {file}',
        });
      }
      yield* createReadStream(file) as AsyncIterable<Buffer>;
    };
    return {
      streams: [
        {
          kind: 'stream',
          path: commandStreamPath(ctx.sourceName, config),
          open: (stopped) =>
            (async function* () {
              yield* tally.through(output(AbortSignal.any([ctx.signal, stopped])));
              finished = Date.now();
            })(),
        },
      ],
      record: async () => ({ exitStatus: 0, bytes: tally.bytes, sha256: tally.sha256, durationMs: finished - started }),
    };
  },

  async restore(ctx: RestoreContext<'command'>): Promise<Restored> {
    const streamPath = commandStreamPath(ctx.sourceName, ctx.config);
    const node = await snapshotFileNode(ctx.repo, ctx.snapshot, streamPath).catch(async () => {
      // Without the config (or after a rename of `filename`), take the one stream the snapshot holds.
      const only = ctx.snapshot.paths.filter((p) => p.startsWith('/command/'));
      if (only.length !== 1)
        throw new LifeboatError(ErrorCode.NotFound, `the snapshot holds no command output at ${streamPath}`);
      return snapshotFileNode(ctx.repo, ctx.snapshot, only[0]!);
    });
    const tally = new StreamTally();
    const content = tally.through(readSnapshotFile(ctx.repo, node, streamPath));
    if (ctx.toFile) {
      await refuseExisting(ctx.toFile, ctx.force, 'a file');
      await writeStreamAtomically(ctx.toFile, content);
      return { location: ctx.toFile, details: { file: ctx.toFile } };
    }
    const template = ctx.config?.restore;
    if (!template) {
      throw new LifeboatError(ErrorCode.Usage, `source "${ctx.sourceName}" has no restore command`, {
        hint: 'add `restore:` to the source in lifeboat.yaml, or pass --to-file PATH',
      });
    }
    const label = `restore command of source "${ctx.sourceName}"`;
    if (template.includes('{file}')) {
      const file = path.join(ctx.tempDir, path.basename(streamPath));
      await writeStreamAtomically(file, content);
      await feedChild(shell(withFile(template, file), label, { signal: ctx.signal }), (async function* () {})());
    } else {
      await feedChild(shell(template, label, { signal: ctx.signal }), content);
    }
    return {
      location: `restore command of "${ctx.sourceName}"`,
      details: { fed: { bytes: tally.bytes, sha256: tally.sha256 } },
    };
  },

  async inspect(restored) {
    if (typeof restored.details.file === 'string') return tallyFile(restored.details.file);
    return { ...(restored.details.fed as Record<string, unknown>) };
  },
};
