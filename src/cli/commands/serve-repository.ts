/**
 * `lifeboat serve-repository`: serve one repository over HTTP(S) to many
 * hosts, each with its own token (`token add|list|remove`), so hosts back up
 * without holding the storage's credentials and, with `append` tokens, cannot
 * delete or overwrite what is stored. See docs/storage/repository-server.md.
 *
 * @module
 */

import path from 'node:path';
import type { Command } from 'commander';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { ROLES, TokenStore, startRepositoryServer, tokensFile, type Role } from '../../repo-server/index.js';
import { stateDir } from '../../state/state-dir.js';
import { describeLocation } from '../../storage/location.js';
import { openStorage } from '../../storage/registry.js';
import type { ActionFactory } from '../action.js';
import { chooseRepository, remoteSettings } from '../configured.js';
import type { CommandContext } from '../context.js';
import { parseSize } from '../parse.js';

const DEFAULT_NAME = 'repo';

function serverStateDir(flag: string | undefined): string {
  return path.resolve(flag ?? path.join(stateDir(), 'repository-server'));
}

const STATE_DIR_HELP = 'where tokens, the ledger and the audit log live (default: <state dir>/repository-server)';

interface ServeFlags {
  root?: string;
  listen?: string;
  name?: string;
  tlsCert?: string;
  tlsKey?: string;
  stateDir?: string;
}

async function serve(ctx: CommandContext, flags: ServeFlags): Promise<number> {
  if (!flags.listen)
    throw new LifeboatError(ErrorCode.Usage, 'serve-repository needs --listen', {
      hint: 'e.g. --listen 127.0.0.1:8529 (plain HTTP), or --listen 0.0.0.0:8529 --tls-cert F --tls-key F',
    });
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey))
    throw new LifeboatError(ErrorCode.Usage, '--tls-cert and --tls-key go together', {
      hint: 'pass both files (PEM certificate chain and private key), or neither for loopback-only HTTP',
    });
  if (flags.root && ctx.global.repo)
    throw new LifeboatError(ErrorCode.Usage, '--root and --repo name two backends; pass one', {
      hint: '--root DIR for a local directory, --repo URL|NAME for SFTP, S3 or a configured repository',
    });
  const choice = flags.root ? { location: path.resolve(flags.root) } : chooseRepository(ctx.global);
  if (/^lifeboat\+/i.test(choice.location))
    throw new LifeboatError(ErrorCode.Usage, 'a repository server cannot store through another repository server', {
      hint: 'give the storage itself: --root DIR, sftp://… or s3://…',
    });
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
  const storage = await openStorage(choice.location, { create: true, remote: remoteSettings(choice) });
  let server;
  try {
    server = await startRepositoryServer({
      storage,
      name: flags.name ?? DEFAULT_NAME,
      listen: flags.listen,
      stateDir: serverStateDir(flags.stateDir),
      tls: flags.tlsCert && flags.tlsKey ? { certFile: flags.tlsCert, keyFile: flags.tlsKey } : undefined,
      log,
    });
  } catch (err) {
    await storage.close();
    throw err;
  }
  log(
    `serving ${describeLocation(storage.location)} as ${server.url} (${server.tokenCount} tokens; audit log ${server.auditFile})`,
  );
  ctx.out.emit({ type: 'listening', url: server.url, storage: storage.location, audit_log: server.auditFile });
  await new Promise<void>((resolve) =>
    ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  log('stopping: finishing the requests in flight');
  await server.close();
  await storage.close();
  log('stopped');
  return ExitCode.Success;
}

function parseRole(text: string): Role {
  if ((ROLES as readonly string[]).includes(text)) return text as Role;
  throw new LifeboatError(ErrorCode.Usage, `unknown role "${text}"`, { hint: `one of: ${ROLES.join(', ')}` });
}

/**
 * The token commands' flags. `serve-repository` has `--name` and `--state-dir`
 * too, and commander gives a flag after `token add` to the parent when both
 * define it: the merged view (the subcommand's own win) sees it either way.
 */
function tokenFlags(ctx: CommandContext): { name?: string; role?: string; quota?: string; stateDir?: string } {
  const merged = ctx.global as unknown as Record<string, unknown>;
  const text = (k: string) => (typeof merged[k] === 'string' ? (merged[k] as string) : undefined);
  return { name: text('name'), role: text('role'), quota: text('quota'), stateDir: text('stateDir') };
}

function registerTokens(parent: Command, action: ActionFactory): void {
  const token = parent.command('token').description('manage the tokens of the hosts that use this server');
  token
    .command('add')
    .description('create a token and print it (shown only this once; only its hash is stored)')
    .option('--name <name>', 'the host or purpose the token is for (e.g. web-1); required')
    .option('--role <role>', 'append (read and add, never delete or overwrite) or admin (everything)')
    .option('--quota <size>', 'most bytes this token may store, e.g. 50G (default: unlimited)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(
      action(async (ctx: CommandContext) => {
        const flags = tokenFlags(ctx);
        if (!flags.name || !flags.role)
          throw new LifeboatError(ErrorCode.Usage, 'token add needs --name and --role', {
            hint: 'e.g. lifeboat serve-repository token add --name web-1 --role append --quota 50G',
          });
        const role = parseRole(flags.role);
        const quota = flags.quota === undefined ? undefined : parseSize(flags.quota);
        const store = new TokenStore(tokensFile(serverStateDir(flags.stateDir)));
        const { token: secret, entry } = store.add(flags.name, role, quota);
        ctx.out.emit({
          type: 'token',
          name: entry.name,
          role: entry.role,
          quota_bytes: entry.quotaBytes ?? null,
          token: secret,
        });
        ctx.out.result(
          `token ${entry.name} (${entry.role}${quota !== undefined ? `, quota ${quota} bytes` : ''}):\n${secret}\n` +
            'it is shown only now: put it in a 0600 file on the host and point $LIFEBOAT_SERVER_TOKEN_FILE at it',
        );
      }),
    );
  token
    .command('list')
    .description('the tokens: name, role, quota, creation time (never the tokens themselves)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(
      action(async (ctx: CommandContext) => {
        const flags = tokenFlags(ctx);
        const store = new TokenStore(tokensFile(serverStateDir(flags.stateDir)));
        const tokens = store.list().map((t) => ({
          name: t.name,
          role: t.role,
          quota_bytes: t.quotaBytes ?? null,
          created: t.created,
        }));
        ctx.out.emit({ type: 'tokens', tokens });
        if (tokens.length === 0) ctx.out.result(`no tokens in ${store.file}`);
        for (const t of tokens)
          ctx.out.result(
            `${t.name}\t${t.role}\t${t.quota_bytes === null ? 'no quota' : `${t.quota_bytes} bytes`}\t${t.created}`,
          );
      }),
    );
  token
    .command('remove <name>')
    .description('remove a token: the host holding it is refused from the next request on')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(
      action(async (ctx: CommandContext, name: string) => {
        const flags = tokenFlags(ctx);
        new TokenStore(tokensFile(serverStateDir(flags.stateDir))).remove(name);
        ctx.out.emit({ type: 'token_removed', name });
        ctx.out.result(`token ${name} removed`);
      }),
    );
}

export function registerServeRepository(program: Command, action: ActionFactory): void {
  const cmd = program
    .command('serve-repository')
    .description('serve one repository over HTTP(S) to hosts holding tokens (append-only tokens cannot delete)')
    .option('--root <dir>', 'store in this local directory (created if missing); or pass --repo URL|NAME instead')
    .option('--listen <host:port>', 'address to listen on; plain HTTP only on loopback')
    .option('--name <name>', `the repository name in URLs (…/NAME; default: ${DEFAULT_NAME})`)
    .option('--tls-cert <file>', 'TLS certificate chain (PEM); needed for a non-loopback address')
    .option('--tls-key <file>', 'TLS private key (PEM)')
    .option('--state-dir <dir>', STATE_DIR_HELP)
    .action(action(serve));
  registerTokens(cmd, action);
}
