/**
 * The `lifeboat` command line (started by `main.ts`). SIGINT/SIGTERM abort the
 * running operation cleanly (no partial snapshot is ever saved); a second
 * signal exits at once.
 *
 * @module
 */

import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { actionFactory } from './action.js';
import type { ActionFactory } from './action.js';
import { ExitCode } from '../errors/index.js';
import { tracePhase } from '../util/trace-timing.js';

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

/** Every command, in help order; each module is loaded only when needed. */
type Register = (program: Command, action: ActionFactory) => void;
const COMMANDS: Record<string, () => Promise<Register>> = {
  init: async () => (await import('./commands/init.js')).registerInit,
  backup: async () => (await import('./commands/backup.js')).registerBackup,
  snapshots: async () => (await import('./commands/snapshots.js')).registerSnapshots,
  ls: async () => (await import('./commands/ls.js')).registerLs,
  dump: async () => (await import('./commands/dump.js')).registerDump,
  diff: async () => (await import('./commands/diff.js')).registerDiff,
  find: async () => (await import('./commands/find.js')).registerFind,
  stats: async () => (await import('./commands/stats.js')).registerStats,
  tag: async () => (await import('./commands/tag.js')).registerTag,
  unlock: async () => (await import('./commands/unlock.js')).registerUnlock,
  webdav: async () => (await import('./commands/webdav.js')).registerWebdav,
  restore: async () => (await import('./commands/restore.js')).registerRestore,
  copy: async () => (await import('./commands/copy.js')).registerCopy,
  check: async () => (await import('./commands/check.js')).registerCheck,
  repair: async () => (await import('./commands/repair.js')).registerRepair,
  verify: async () => (await import('./commands/verify.js')).registerVerify,
  drill: async () => (await import('./commands/drill.js')).registerDrill,
  prune: async () => (await import('./commands/prune.js')).registerPrune,
  cleanup: async () => (await import('./commands/cleanup.js')).registerCleanup,
  forget: async () => (await import('./commands/forget.js')).registerForget,
  run: async () => (await import('./commands/run.js')).registerRun,
  guard: async () => (await import('./commands/guard.js')).registerGuard,
  compliance: async () => (await import('./commands/compliance.js')).registerCompliance,
  serve: async () => (await import('./commands/serve.js')).registerServe,
  replicate: async () => (await import('./commands/replicate.js')).registerReplicate,
  status: async () => (await import('./commands/status.js')).registerStatus,
  handover: async () => (await import('./commands/handover.js')).registerHandover,
  schedule: async () => (await import('./commands/schedule.js')).registerSchedule,
  key: async () => (await import('./commands/key.js')).registerKey,
  config: async () => (await import('./commands/config.js')).registerConfig,
  'base-backup': async () => (await import('./commands/pitr.js')).registerBaseBackup,
  'wal-push': async () => (await import('./commands/pitr.js')).registerWalPush,
  'wal-fetch': async () => (await import('./commands/pitr.js')).registerWalFetch,
  wal: async () => (await import('./commands/pitr.js')).registerWal,
  'serve-repository': async () => (await import('./commands/serve-repository.js')).registerServeRepository,
};

/** Global options that take a value (the next argument is not the command's name). */
const VALUE_OPTIONS = new Set(['--config', '--repo', '--key-file', '--retry-lock', '--memory']);

/**
 * Load only the command being run: the modules of the others (database drivers,
 * the web server, cloud storage clients) take about half a second to load, which
 * every command would pay. Help, an unknown name or no command loads them all.
 */
async function commandsFor(args: string[]): Promise<Register[]> {
  let name: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (VALUE_OPTIONS.has(a)) i++;
      continue;
    }
    name = a;
    break;
  }
  const load = name !== undefined && Object.hasOwn(COMMANDS, name) ? [COMMANDS[name]!] : Object.values(COMMANDS);
  return Promise.all(load.map((l) => l()));
}

const program = new Command('lifeboat')
  .description('Encrypted, deduplicated backups that prove they restore.')
  .version(VERSION)
  .option(
    '--config <file>',
    'configuration file (default: $LIFEBOAT_CONFIG, ./lifeboat.yaml, /etc/lifeboat/lifeboat.yaml)',
  )
  .option('--repo <path|url>', 'repository: a name from lifeboat.yaml, a path or a URL (or $LIFEBOAT_REPOSITORY)')
  .option(
    '--key-file <file>',
    'open the repository with a recovery key file instead of a password (or $LIFEBOAT_KEY_FILE)',
  )
  .option('--json', 'machine-readable output: one JSON document, or JSON lines for long operations')
  .option('--quiet', 'print only results and errors')
  .option('--verbose', 'print more detail')
  .option('--no-progress', 'no progress display')
  .option('--no-cache', 'do not use the local cache')
  .option('--strict-permissions', 'refuse a password, key or secret file that other users can read (default: warn)')
  .option(
    '--retry-lock <duration>',
    'when another process holds a conflicting repository lock, keep trying this long (e.g. 5m)',
  )
  .option('--memory <profile>', 'memory profile: default, or low for machines with about 512 MB (or $LIFEBOAT_MEMORY)')
  .showHelpAfterError()
  .exitOverride();

const action = actionFactory(controller.signal);
for (const register of await commandsFor(process.argv.slice(2))) register(program, action);
tracePhase('modules loaded');

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
tracePhase('command finished');
