#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { actionFactory } from './action.js';
import { registerBackup } from './commands/backup.js';
import { registerCheck } from './commands/check.js';
import { registerDiff } from './commands/diff.js';
import { registerDump } from './commands/dump.js';
import { registerInit } from './commands/init.js';
import { registerKey } from './commands/key.js';
import { registerLs } from './commands/ls.js';
import { registerRestore } from './commands/restore.js';
import { registerSnapshots } from './commands/snapshots.js';
import { ExitCode } from '../errors/index.js';

/**
 * The `lifeboat` command. SIGINT/SIGTERM abort the running operation cleanly
 * (no partial snapshot is ever saved); a second signal exits at once.
 */
const controller = new AbortController();
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    signals++;
    if (signals > 1) process.exit(ExitCode.Interrupted);
    process.stderr.write(`\n${sig}: stopping cleanly (send again to exit at once)\n`);
    controller.abort();
  });
}

// A closed pipe (`lifeboat … | head`) ends output quietly instead of crashing.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const program = new Command('lifeboat')
  .description('Encrypted, deduplicated backups that prove they restore.')
  .version(VERSION)
  .option('--config <file>', 'configuration file (lifeboat.yaml; accepted now, read once configured sources and jobs arrive)')
  .option('--repo <path|url>', 'repository location (or $LIFEBOAT_REPOSITORY)')
  .option('--key-file <file>', 'open the repository with a recovery key file instead of a password (or $LIFEBOAT_KEY_FILE)')
  .option('--json', 'machine-readable output: one JSON document, or JSON lines for long operations')
  .option('--quiet', 'print only results and errors')
  .option('--verbose', 'print more detail')
  .option('--no-progress', 'no progress display')
  .option('--no-cache', 'do not use the local cache')
  .showHelpAfterError()
  .exitOverride();

const action = actionFactory(controller.signal);
registerInit(program, action);
registerBackup(program, action);
registerSnapshots(program, action);
registerLs(program, action);
registerDump(program, action);
registerDiff(program, action);
registerRestore(program, action);
registerCheck(program, action);
registerKey(program, action);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : ExitCode.Usage;
  } else {
    process.stderr.write(`error: ${(err as Error).message}\n`);
    process.exitCode = ExitCode.Failure;
  }
}
