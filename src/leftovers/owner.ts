/**
 * Who made a resource: the process, named so that a reused pid is never
 * taken for it. On Linux a process is its pid plus its start time (clock
 * ticks since boot, /proc/PID/stat field 22) within one boot (boot_id) and
 * one pid namespace; elsewhere only the pid can be checked.
 *
 * @module
 */

import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { z } from 'zod';

export interface Owner {
  host: string;
  pid: number;
  /** Start time in clock ticks since boot, or null where /proc is not available. */
  start: number | null;
  boot: string | null;
  /** The pid namespace (`pid:[4026531836]`): pids of another namespace say nothing here. */
  pidns: string | null;
}

export const ownerSchema = z.object({
  host: z.string(),
  pid: z.number().int().positive(),
  start: z.number().nullable(),
  boot: z.string().nullable(),
  pidns: z.string().nullable(),
});

/** Whether a recorded owner still runs: `foreign` when it ran on another host or in another pid namespace, where this process cannot tell. */
export type OwnerState = 'alive' | 'dead' | 'foreign';

export interface ProcStat {
  /** R, S, D, Z, T, … */
  state: string;
  /** Process group id. */
  pgrp: number;
  start: number;
}

/** Fields of /proc/PID/stat, or undefined when there is no such process (or no /proc). */
export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may hold spaces and parentheses: fields are counted after its last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const start = Number(rest[19]);
  const pgrp = Number(rest[2]);
  if (!rest[0] || !Number.isFinite(start) || !Number.isFinite(pgrp)) return undefined;
  return { state: rest[0], pgrp, start };
}

function readOrNull(read: () => string): string | null {
  try {
    return read().trim();
  } catch {
    return null;
  }
}

const bootId = readOrNull(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8'));
const pidNamespace = readOrNull(() => readlinkSync('/proc/self/ns/pid'));
let self: Owner | undefined;

/** This process. */
export function currentOwner(): Owner {
  self ??= {
    host: os.hostname(),
    pid: process.pid,
    start: procStat(process.pid)?.start ?? null,
    boot: bootId,
    pidns: pidNamespace,
  };
  return self;
}

/** A process of this host and namespace is running and is the one recorded (same start time; a zombie has ended). */
export function processRuns(pid: number, start: number | null): boolean {
  if (bootId === null) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const stat = procStat(pid);
  return stat !== undefined && stat.state !== 'Z' && (start === null || stat.start === start);
}

export function ownerState(owner: Owner): OwnerState {
  if (owner.host !== os.hostname()) return 'foreign';
  if (owner.pidns !== null && pidNamespace !== null && owner.pidns !== pidNamespace) return 'foreign';
  if (owner.boot !== null && bootId !== null && owner.boot !== bootId) return 'dead';
  return processRuns(owner.pid, owner.start) ? 'alive' : 'dead';
}
