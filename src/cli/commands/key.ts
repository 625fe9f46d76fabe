/**
 * Key slots: any slot opens the repository. New passwords come from
 * LIFEBOAT_NEW_PASSWORD (or _FILE, _COMMAND) or the terminal; never from a flag.
 * Changing keys takes the exclusive lock and an admin key; `key add --role`
 * gives the new key its role (admin by default, always printed).
 *
 * @module
 */

import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { fingerprint, isKeyRole, KEY_ROLES, renderRecoveryKey, type KeyRole } from '../../repository/crypto/index.js';
import type { ActionFactory } from '../action.js';
import { newPassword, withRepository, type CommandContext } from '../context.js';
import { formatTime, table } from '../../util/format.js';

export function registerKey(program: Command, action: ActionFactory): void {
  const key = program.command('key').description('manage repository keys');

  key
    .command('list')
    .description('list key slots')
    .action(
      action(async (ctx: CommandContext) =>
        withRepository(ctx, async (repo) => {
          const keys = await repo.listKeys();
          const readable = keys.filter((k) => k.readable).length;
          ctx.out.emit({
            keys: keys.map(({ name: _n, ...k }) => k),
            fingerprint: fingerprint(repo.keys.master),
            readableSlots: readable,
          });
          ctx.out.result(
            table(
              ['ID', 'CURRENT', 'ROLE', 'CREATED', 'HOST', 'USER', 'LABEL'],
              keys.map((k) => [
                k.id.slice(0, 8),
                k.current ? '*' : '',
                k.role ?? '',
                k.createdAt ? formatTime(k.createdAt) : k.readable ? '' : 'DAMAGED',
                k.host ?? '',
                k.username ?? '',
                k.label ?? '',
              ]),
            ),
          );
          if (readable > 0) return ExitCode.Success;
          // Opened with the recovery key file: no password opens this repository any more.
          ctx.out.warn(
            `the repository has no readable key slot (${keys.length} in keys/): no password opens it, only the recovery key file; add one with \`lifeboat key add\``,
          );
          return ExitCode.Failure;
        }),
      ),
    );

  key
    .command('add')
    .description('add a key slot with a new password (LIFEBOAT_NEW_PASSWORD, _FILE, _COMMAND or asked)')
    .option('--label <text>', 'a note on whose key this is')
    .option(
      '--role <role>',
      `what the new key may do: ${KEY_ROLES.slice(0, -1).join(', ')} or ${KEY_ROLES.at(-1)} (default admin)`,
    )
    .action(
      action(async (ctx: CommandContext, flags: { label?: string; role?: string }) =>
        withRepository(ctx, async (repo) => {
          const role = parseRole(flags.role);
          repo.requireAdmin('key add'); // before asking for a password or taking the lock
          const password = await newPassword('LIFEBOAT_NEW_PASSWORD');
          await repo.withLock(true, 'key add', async () => {
            const id = await repo.addKey(password, flags.label, role);
            ctx.out.emit({ added: id, role });
            ctx.out.result(
              `added key ${id.slice(0, 8)} with role ${role}${flags.role === undefined ? ' (the default; --role append for a key that may not delete)' : ''}`,
            );
          });
        }),
      ),
    );

  key
    .command('remove')
    .description('remove a key slot (the last key can never be removed)')
    .argument('<id>', 'key id or unique prefix')
    .action(
      action(async (ctx: CommandContext, id: string) =>
        withRepository(ctx, async (repo) => {
          repo.requireAdmin('key remove');
          await repo.withLock(true, 'key remove', async () => {
            const removed = await repo.removeKey(id);
            ctx.out.emit({ removed });
            ctx.out.result(`removed key ${removed.slice(0, 8)}`);
          });
        }),
      ),
    );

  key
    .command('passwd')
    .description('change the password of the key in use (adds the new key, then removes the old one)')
    .action(
      action(async (ctx: CommandContext) =>
        withRepository(ctx, async (repo) => {
          if (!repo.keyName)
            throw new LifeboatError(ErrorCode.Usage, 'the repository was opened with a key file, not a password', {
              hint: 'use `key add` to add a password',
            });
          // Replacing a slot removes one: an append key cannot, not even its own (an admin replaces it).
          repo.requireAdmin('key passwd');
          const password = await newPassword('LIFEBOAT_NEW_PASSWORD');
          const current = repo.keyName.slice('keys/'.length);
          await repo.withLock(true, 'key passwd', async () => {
            const added = await repo.addKey(password, undefined, repo.role);
            const removed = await repo.removeKey(current);
            ctx.out.emit({ added, removed });
            ctx.out.result(`password changed (key ${removed.slice(0, 8)} replaced by ${added.slice(0, 8)})`);
          });
        }),
      ),
    );

  key
    .command('export')
    .description('export the recovery key: printable with --paper, or to a 0600 file usable with --key-file')
    .option('--paper', 'print the recovery key page on stdout')
    .option('--out <file>', 'write the recovery key to this file (mode 0600)')
    .action(
      action(async (ctx: CommandContext, flags: { paper?: boolean; out?: string }) =>
        withRepository(ctx, async (repo) => {
          if (!flags.paper && !flags.out)
            throw new LifeboatError(ErrorCode.Usage, 'say where the key goes: --paper or --out FILE');
          const page = renderRecoveryKey(repo.id, repo.keys.master);
          if (flags.out) {
            await writeFile(flags.out, page, { mode: 0o600, flag: 'wx' }).catch((err: NodeJS.ErrnoException) => {
              throw new LifeboatError(
                ErrorCode.Failure,
                `cannot write ${flags.out}: ${err.code === 'EEXIST' ? 'the file exists' : err.message}`,
                { hint: 'choose a new file name' },
              );
            });
            ctx.out.emit({ written: flags.out, fingerprint: fingerprint(repo.keys.master) });
            ctx.out.info(`recovery key written to ${flags.out} (mode 0600)`);
          }
          if (flags.paper) {
            if (ctx.out.json) ctx.out.emit({ repository: repo.id, fingerprint: fingerprint(repo.keys.master), page });
            else process.stdout.write(page);
          }
        }),
      ),
    );
}

function parseRole(value: string | undefined): KeyRole {
  if (value === undefined) return 'admin';
  if (isKeyRole(value)) return value;
  throw new LifeboatError(ErrorCode.Usage, `unknown key role ${JSON.stringify(value)}`, {
    hint: `use --role ${KEY_ROLES.join(' or --role ')}`,
  });
}
