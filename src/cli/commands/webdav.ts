/**
 * `webdav`: browse and copy the snapshots of a repository with any WebDAV
 * client (file managers, rclone, curl), read-only — the nearest honest
 * equivalent of `mount` where FUSE is not available (ADR 0037). Loopback by
 * default; every request needs the token from `--token-file`.
 *
 * @module
 */

import path from 'node:path';
import type { Command } from 'commander';
import { parseListen } from '../../daemon/listen.js';
import { loadOrCreateToken } from '../../daemon/token.js';
import { buildWebdav } from '../../daemon/webdav/server.js';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { stateDir } from '../../state/state-dir.js';
import type { ActionFactory } from '../action.js';
import { optionalConfig } from '../configured.js';
import { withRepository, type CommandContext } from '../context.js';

export const DEFAULT_WEBDAV_LISTEN = '127.0.0.1:8529';

interface Flags {
  listen: string;
  tokenFile?: string;
}

export function registerWebdav(program: Command, action: ActionFactory): void {
  program
    .command('webdav')
    .description('serve the snapshots read-only over WebDAV, for file managers and rclone (the equivalent of mount)')
    .option('--listen <host:port>', 'address to listen on; port 0 picks a free one', DEFAULT_WEBDAV_LISTEN)
    .option(
      '--token-file <file>',
      'the access token (created, mode 0600, when missing; default <state_dir>/webdav.token)',
    )
    .action(
      action(async (ctx: CommandContext, flags: Flags) => {
        let listen;
        try {
          listen = parseListen(flags.listen);
        } catch (err) {
          throw new LifeboatError(ErrorCode.Usage, `--listen: ${(err as Error).message}`, {
            hint: `e.g. ${DEFAULT_WEBDAV_LISTEN}`,
          });
        }
        const tokenFile =
          flags.tokenFile ?? path.join(stateDir(optionalConfig(ctx.global)?.config.state_dir), 'webdav.token');
        const { token, created, warning } = loadOrCreateToken(tokenFile);
        if (warning) ctx.out.warn(warning);
        return withRepository(ctx, async (repo) => {
          await repo.prepareRead();
          const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
          const app = await buildWebdav({ repo, token, log });
          await app.listen({ host: listen.host, port: listen.port });
          const address = app.server.address();
          const port = typeof address === 'object' && address ? address.port : listen.port;
          const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
          const url = `http://${host}:${port}/`;
          if (!listen.loopback)
            ctx.out.warn(
              `listening on ${listen.host}, not loopback: the token is sent in clear over plain HTTP; put a TLS proxy in front`,
            );
          if (created) log(`access token generated in ${tokenFile} (mode 0600)`);
          log(`serving the snapshots read-only on ${url} (token: ${tokenFile}); Ctrl-C stops`);
          ctx.out.emit({ type: 'listening', url, token_file: tokenFile });
          await new Promise<void>((resolve) =>
            ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
          );
          await app.close();
          log('stopped');
          return ExitCode.Success;
        });
      }),
    );
}
