/**
 * A process that makes leftovers the way Lifeboat does and then waits to be
 * killed: the sweep tests run it, kill -9 it, and sweep. Arguments: the
 * ledger directory and a directory outside the temp base. Prints one JSON
 * line with what it made; the temp base is its $TMPDIR.
 *
 * @module
 */

import { spawn } from 'node:child_process';
import os from 'node:os';
import { useLedger } from '../ledger.js';
import { ownedTempDir } from '../temp-dir.js';
import { trackChild } from '../track.js';

const [ledgerDir, elsewhere] = process.argv.slice(2);
if (!ledgerDir || !elsewhere) throw new Error('usage: leave-behind LEDGER_DIR OTHER_DIR');
const ledger = useLedger(ledgerDir);
const run = await ownedTempDir(os.tmpdir(), 'lifeboat-verify-');
const near = await ownedTempDir(elsewhere, '.lifeboat-measure-');
// A server in its own group (as throwaway servers and tools run) and one in ours (as redis-server runs).
const grouped = spawn('sleep', ['300'], { detached: true, stdio: 'ignore' });
const plain = spawn('sleep', ['300'], { stdio: 'ignore' });
trackChild(grouped, 'sleep (grouped)', true);
trackChild(plain, 'sleep', false);
// trackChild records in the background: wait until both records are written.
while ((await ledger.list()).records.filter((r) => r.resource.kind === 'process').length < 2)
  await new Promise((resolve) => setTimeout(resolve, 10));
process.stdout.write(`${JSON.stringify({ run: run.path, near: near.path, pids: [grouped.pid, plain.pid] })}\n`);
setInterval(() => {}, 1 << 30);
