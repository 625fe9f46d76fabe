import type { Command } from 'commander';
import { startDaemon } from '../../daemon/daemon.js';
import { ExitCode } from '../../errors/index.js';
import type { ActionFactory } from '../action.js';
import { requireConfig } from '../configured.js';
import { cacheRoot, type CommandContext } from '../context.js';

export function registerServe(program: Command, action: ActionFactory): void {
  program
    .command('serve')
    .description('daemon: run the jobs on their schedules, evaluate alerts, serve the HTTP API and /metrics')
    .option('--listen <host:port>', 'address to listen on (default: server.listen, else 127.0.0.1:8528)')
    .action(
      action(async (ctx: CommandContext, flags: { listen?: string }) => {
        const loaded = requireConfig(ctx.global, 'serve');
        const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
        const daemon = await startDaemon(loaded, { listen: flags.listen, cacheRoot: cacheRoot(ctx.global), log });
        if (daemon.tokenCreated) log(`API token generated in ${daemon.tokenFile} (mode 0600)`);
        log(`listening on ${daemon.url} (API token: ${daemon.tokenFile})`);
        ctx.out.emit({ type: 'listening', url: daemon.url, token_file: daemon.tokenFile });
        // SIGINT/SIGTERM (cli/program.ts) abort this signal: stop the loops, let a running step end cleanly.
        await new Promise<void>((resolve) =>
          ctx.signal.aborted ? resolve() : ctx.signal.addEventListener('abort', () => resolve(), { once: true }),
        );
        log('stopping: waiting for running jobs to end at a safe point (a second signal exits at once)');
        await daemon.stop();
        log('stopped');
        return ExitCode.Success;
      }),
    );
}
