import type { Command } from 'commander';
import { ErrorCode, ExitCode, LifeboatError } from '../../errors/index.js';
import { handover } from '../../handover/handover.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import { cacheRoot, type CommandContext } from '../context.js';
import { formatBytes } from '../../util/format.js';
import { promptHidden } from '../prompt.js';

interface Flags {
  out?: string;
  force?: boolean;
  includeRecoveryKey?: boolean;
}

export function registerHandover(program: Command, action: ActionFactory): void {
  program
    .command('handover')
    .description(
      'write the doomsday pack: runbook (Markdown and printable HTML), inventory.json, restore commands, key fingerprints; exit 1 if a repository is unreachable',
    )
    .option('--out <dir>', 'a new or empty directory for the pack (required)')
    .option('--force', 'write into a directory holding an earlier pack, replacing its files')
    .option(
      '--include-recovery-key',
      "also write each repository's printable recovery key (the pack then holds a secret)",
    )
    .action(
      action(async (ctx: CommandContext, flags: Flags) => {
        if (!flags.out)
          throw new LifeboatError(ErrorCode.Usage, 'handover needs --out DIR', {
            hint: 'a new or empty directory, e.g. --out ./doomsday-pack',
          });
        const loaded = requireConfig(ctx.global, 'handover');
        const prompt = process.stdin.isTTY && process.stderr.isTTY ? promptHidden : undefined;
        const result = await handover(loaded, {
          out: flags.out,
          force: flags.force,
          includeRecoveryKey: flags.includeRecoveryKey,
          cacheRoot: cacheRoot(ctx.global),
          prompt,
        });
        const inv = result.inventory;
        ctx.out.emit({
          type: 'handover',
          dir: result.dir,
          ok: result.ok,
          holdsSecret: inv.holdsSecret,
          files: result.files.map(({ name, path, bytes, sha256, secret }) => ({ name, path, bytes, sha256, secret })),
          repositories: inv.repositories.map((r) => ({
            name: r.name,
            reachable: r.reachable,
            ...(r.error ? { error: r.error } : { id: r.id, fingerprint: r.fingerprint, snapshots: r.snapshots?.count }),
          })),
          sources: inv.sources.map((s) => ({
            name: s.name,
            type: s.type,
            copies: s.copies.map((c) => ({ repository: c.repository, snapshot: c.snapshot.id, time: c.snapshot.time })),
          })),
          warnings: inv.warnings,
        });
        ctx.out.result(`handover pack written to ${result.dir}`);
        for (const f of result.files)
          ctx.out.info(`  ${f.name.padEnd(28)} ${formatBytes(f.bytes)}${f.secret ? '  (secret, mode 0600)' : ''}`);
        for (const r of inv.repositories)
          ctx.out.info(
            `  repository ${r.name}: ${r.reachable ? `reachable, ${r.snapshots?.count ?? 0} snapshot(s), fingerprint ${r.fingerprint}` : `UNREACHABLE: ${r.error}`}`,
          );
        for (const w of inv.warnings) ctx.out.warn(w);
        if (inv.holdsSecret)
          ctx.out.result(
            'this pack HOLDS THE RECOVERY KEY: print it, seal it in an envelope kept offline, then delete the files from this machine',
          );
        else
          ctx.out.result(
            'next: print RUNBOOK.html and seal it with the recovery key (`lifeboat key export --paper --repo NAME`), kept offline and apart from the backups',
          );
        if (!result.ok)
          process.stderr.write('error: some repositories could not be read; the pack says so, but it is incomplete\n');
        return result.ok ? ExitCode.Success : ExitCode.Failure;
      }),
    );
}
