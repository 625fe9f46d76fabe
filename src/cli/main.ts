#!/usr/bin/env node
/**
 * The `lifeboat` executable. `wal-push --async`, run by PostgreSQL once per
 * WAL segment, takes a fast path that loads only what spooling needs
 * (`wal-push-async.ts`); everything else is the full command line (`program.ts`).
 *
 * @module
 */

const args = process.argv.slice(2);
const fast =
  args.includes('wal-push') && args.includes('--async')
    ? await import('./wal-push-async.js').then((m) => ({ m, a: m.asyncWalPushArgs(args) }))
    : undefined;
if (fast?.a) process.exitCode = await fast.m.runAsyncWalPush(fast.a);
else await import('./program.js');
