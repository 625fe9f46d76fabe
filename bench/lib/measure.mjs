// Run one command under `/usr/bin/time -v` and return wall time, CPU time and peak RSS.
//
// Wall time is measured here with a monotonic clock around the child (GNU time only prints it
// to 1/100 s); user/sys CPU and peak RSS come from the `time -v` report, which covers the
// command and all of its descendants (peak RSS = the largest single process, not a sum).

import fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';

export const TIME_BIN = '/usr/bin/time';

export function haveGnuTime() {
  if (!fs.existsSync(TIME_BIN)) return false;
  const r = spawnSync(TIME_BIN, ['-v', '-o', '/dev/null', 'true'], { stdio: 'ignore' });
  return r.status === 0;
}

/** Parse the text written by `time -v -o FILE`. Missing fields come back as null. */
export function parseTimeV(text) {
  const field = (label) => {
    const line = text.split('\n').find((l) => l.trimStart().startsWith(label));
    return line === undefined ? null : line.slice(line.lastIndexOf(': ') + 2).trim();
  };
  const num = (label) => {
    const v = field(label);
    return v === null || v === '' ? null : Number(v);
  };
  const elapsed = field('Elapsed (wall clock) time');
  let elapsedSeconds = null;
  if (elapsed !== null) {
    elapsedSeconds = elapsed.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
  }
  const userSeconds = num('User time (seconds)');
  const sysSeconds = num('System time (seconds)');
  const exitMatch = /Command exited with non-zero status (\d+)/.exec(text);
  const signalMatch = /Command terminated by signal (\d+)/.exec(text);
  return {
    userSeconds,
    sysSeconds,
    cpuSeconds: userSeconds !== null && sysSeconds !== null ? round3(userSeconds + sysSeconds) : null,
    maxRssKB: num('Maximum resident set size (kbytes)'),
    elapsedSeconds,
    exitStatus: num('Exit status'),
    nonZeroStatus: exitMatch ? Number(exitMatch[1]) : null,
    signal: signalMatch ? Number(signalMatch[1]) : null,
  };
}

/**
 * Run `cmd args...` under time -v. stdout+stderr of the command go to `logFile`, the time
 * report to `timeFile`. Resolves (never rejects for a failing command) with
 * { ok, exitCode, signal, wallSeconds, userSeconds, sysSeconds, cpuSeconds, maxRssKB, ... }.
 */
export function runMeasured({ cmd, args = [], env, cwd, logFile, timeFile }) {
  return new Promise((resolve) => {
    const logFd = fs.openSync(logFile, 'w');
    fs.writeSync(logFd, `$ ${[cmd, ...args].join(' ')}${cwd ? `   (cwd ${cwd})` : ''}\n`);
    const t0 = process.hrtime.bigint();
    const child = spawn(TIME_BIN, ['-v', '-o', timeFile, cmd, ...args], {
      env,
      cwd,
      stdio: ['ignore', logFd, logFd],
    });
    let done = false;
    const finish = (code, signal, spawnError) => {
      if (done) return;
      done = true;
      const wallSeconds = round3(Number(process.hrtime.bigint() - t0) / 1e9);
      fs.closeSync(logFd);
      let parsed = {};
      try {
        parsed = parseTimeV(fs.readFileSync(timeFile, 'utf8'));
      } catch {
        // time did not write its report (e.g. it could not start)
      }
      resolve({
        ok: !spawnError && code === 0,
        exitCode: code,
        signal: signal ?? parsed.signal ?? null,
        error: spawnError ? String(spawnError.message ?? spawnError) : null,
        wallSeconds,
        userSeconds: parsed.userSeconds ?? null,
        sysSeconds: parsed.sysSeconds ?? null,
        cpuSeconds: parsed.cpuSeconds ?? null,
        maxRssKB: parsed.maxRssKB ?? null,
        timeElapsedSeconds: parsed.elapsedSeconds ?? null,
      });
    };
    child.once('error', (e) => finish(null, null, e));
    child.once('close', (code, signal) => finish(code, signal, null));
  });
}

/** Last `n` lines of a text file (for failure messages). */
export function tailFile(file, n = 8) {
  try {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    return lines.slice(-n).join('\n');
  } catch {
    return '';
  }
}

/** `sync` + drop the page cache (needs root). Throws if the cache cannot be dropped. */
export function dropCaches() {
  spawnSync('sync', [], { stdio: 'ignore' });
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n');
}

export function canDropCaches() {
  try {
    fs.accessSync('/proc/sys/vm/drop_caches', fs.constants.W_OK);
    return typeof process.getuid === 'function' && process.getuid() === 0;
  } catch {
    return false;
  }
}

function round3(x) {
  return Math.round(x * 1000) / 1000;
}
