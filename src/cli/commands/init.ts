import type { Command } from 'commander';
import { DEFAULT_CHUNKER, validateChunkerParams } from '../../repository/chunking/index.js';
import { Repository } from '../../repository/repository.js';
import { DEFAULT_COMPRESSION_LEVEL, validCompressionLevel } from '../../repository/format/index.js';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import { openStorage } from '../../storage/registry.js';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CONFIG_TEMPLATE } from '../../config/template.js';
import { chooseRepository, credentialEnv, remoteSettings } from '../configured.js';
import { assertConnected } from '../../storage/mount-check.js';
import { cacheRoot, newPassword, type CommandContext } from '../context.js';
import { parseSize } from '../parse.js';
import type { ActionFactory } from '../action.js';

export function registerInit(program: Command, action: ActionFactory): void {
  program
    .command('init')
    .description(
      'create a new encrypted repository (password from LIFEBOAT_PASSWORD, _FILE or _COMMAND, or asked on a terminal)',
    )
    .option('--chunk-size <size>', 'average chunk size, a power of two (e.g. 1MiB)')
    .option(
      '--compression-level <n>',
      'zstd level 1-19 (higher: smaller and slower)',
      String(DEFAULT_COMPRESSION_LEVEL),
    )
    .option(
      '--config-template [file]',
      'write a commented lifeboat.yaml (default: --config or ./lifeboat.yaml); with no repository given, only the file is written',
    )
    .action(
      action(
        async (
          ctx: CommandContext,
          opts: { chunkSize?: string; compressionLevel: string; configTemplate?: string | boolean },
        ) => {
          if (opts.configTemplate !== undefined) {
            const file = path.resolve(
              typeof opts.configTemplate === 'string' ? opts.configTemplate : (ctx.global.config ?? 'lifeboat.yaml'),
            );
            await writeFile(file, CONFIG_TEMPLATE, { flag: 'wx', mode: 0o640 }).catch((err: NodeJS.ErrnoException) => {
              throw err.code === 'EEXIST'
                ? new LifeboatError(ErrorCode.Refused, `${file} already exists; it is not overwritten`, {
                    hint: 'give another file name: --config-template FILE',
                  })
                : err;
            });
            ctx.out.emit({ type: 'config-template', file });
            ctx.out.result(`wrote ${file}; edit it, then run \`lifeboat config validate\``);
            if (!ctx.global.repo && !process.env.LIFEBOAT_REPOSITORY) return;
          }
          // Validate everything before asking for a password or creating anything.
          const choice = chooseRepository(ctx.global);
          const location = choice.location;
          if (choice.settings?.require_mount) assertConnected(choice.name!, location, choice.settings.mount_point);
          const avg = opts.chunkSize ? parseSize(opts.chunkSize) : DEFAULT_CHUNKER.avg;
          const chunker = { min: avg / 4, avg, max: avg * 4 };
          validateChunkerParams(chunker);
          const level = Number(opts.compressionLevel);
          if (!validCompressionLevel(level))
            throw new LifeboatError(
              ErrorCode.Usage,
              `--compression-level must be a whole number from 1 to 19, got "${opts.compressionLevel}"`,
            );
          const password = await newPassword('LIFEBOAT_PASSWORD', credentialEnv(choice));
          const storage = await openStorage(location, { create: true, remote: remoteSettings(choice) });
          const repo = await Repository.init(storage, password, {
            chunker,
            compressionLevel: level,
            cacheRoot: cacheRoot(ctx.global),
          });
          await repo.close();
          ctx.out.emit({
            type: 'init',
            repository: { id: repo.id, location: storage.location, chunker, compression: repo.config.compression },
          });
          ctx.out.result(`created repository ${repo.id.slice(0, 8)} at ${storage.location}`);
          ctx.out.info(
            'Keep the password safe: without it (or a recovery key from `lifeboat key export --paper`) the backups cannot be read.',
          );
        },
      ),
    );
}
