/**
 * Wraps a command handler: builds its context from the global flags, runs it,
 * and turns its result or error into the process exit code (the only place
 * exit codes are set).
 *
 * @module
 */

import type { Command } from 'commander';
import { applyMemoryProfile, contextFor, type CommandContext } from './context.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (ctx: CommandContext, ...args: any[]) => Promise<number | void>;
export type ActionFactory = (handler: Handler) => (...args: unknown[]) => Promise<void>;

export function actionFactory(signal: AbortSignal): ActionFactory {
  return (handler) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      const ctx = contextFor(command, signal);
      try {
        applyMemoryProfile(ctx.global);
        const code = await handler(ctx, ...args.slice(0, -1));
        process.exitCode = code ?? 0;
      } catch (err) {
        process.exitCode = ctx.out.error(err);
      }
    };
}
