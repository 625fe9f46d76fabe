import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, LifeboatError } from '../../errors/index.js';
import type { UnitFile } from './units.js';

/**
 * `lifeboat schedule systemd --install | --uninstall`: the units of the
 * scheduled jobs written into a unit directory, and removed again.
 *
 * What Lifeboat wrote is recognised by its first line, {@link UNIT_MARKER}:
 * the marker is the manifest, kept in the file itself, so it survives a lost
 * state directory and cannot list a file that is not there. A unit without the
 * marker is never overwritten nor removed: it belongs to someone else.
 */
export const UNIT_MARKER =
  '# Written by `lifeboat schedule systemd --install`; removed by `lifeboat schedule systemd --uninstall`.';
export const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** The unit files `installUnits` wrote, and what systemctl said. */
export interface InstalledUnits {
  unitDir: string;
  /** Paths written (or, with dryRun, that would be written). */
  written: string[];
  /** Paths of units written earlier for jobs that no longer have a schedule, removed now. */
  removed: string[];
  /** What systemctl did, or why it was not run. */
  systemctl: string;
}

/** The unit files `uninstallUnits` removed (only those Lifeboat wrote), and what systemctl said. */
export interface RemovedUnits {
  unitDir: string;
  removed: string[];
  systemctl: string;
}

export function markedText(unit: UnitFile): string {
  return `${UNIT_MARKER}\n${unit.text}`;
}

/** Write `units` into `unitDir`; refuse (before writing anything) when one would replace a unit Lifeboat did not write. */
export async function installUnits(
  units: UnitFile[],
  options: { unitDir?: string; dryRun?: boolean } = {},
): Promise<InstalledUnits> {
  const unitDir = path.resolve(options.unitDir ?? SYSTEM_UNIT_DIR);
  if (!existsSync(unitDir))
    throw new LifeboatError(ErrorCode.NotFound, `unit directory ${unitDir} does not exist`, {
      hint: 'give an existing directory with --unit-dir DIR',
    });
  for (const u of units) {
    const target = path.join(unitDir, u.name);
    const current = await readOrNull(target);
    if (current !== null && !current.startsWith(UNIT_MARKER)) {
      throw new LifeboatError(
        ErrorCode.Refused,
        `${target} exists and was not written by lifeboat; nothing was installed`,
        {
          hint: 'rename or remove that unit yourself, or rename the job',
        },
      );
    }
  }
  const names = new Set(units.map((u) => u.name));
  const stale = (await ourUnits(unitDir)).filter((p) => !names.has(path.basename(p)));
  const written = units.map((u) => path.join(unitDir, u.name));
  if (options.dryRun) return { unitDir, written, removed: stale, systemctl: 'not run (dry run)' };
  for (const u of units) {
    const target = path.join(unitDir, u.name);
    // Written beside and renamed into place: systemd never reads half a unit.
    const tmp = `${target}.lifeboat-tmp`;
    await writeFile(tmp, markedText(u), { mode: 0o644 });
    await rename(tmp, target);
  }
  const systemctl = await removeAndReload(unitDir, stale);
  return { unitDir, written, removed: stale, systemctl };
}

/** Remove every unit in `unitDir` that Lifeboat wrote (and nothing else); timers are disabled first when systemd runs. */
export async function uninstallUnits(options: { unitDir?: string; dryRun?: boolean } = {}): Promise<RemovedUnits> {
  const unitDir = path.resolve(options.unitDir ?? SYSTEM_UNIT_DIR);
  const ours = existsSync(unitDir) ? await ourUnits(unitDir) : [];
  if (options.dryRun) return { unitDir, removed: ours, systemctl: 'not run (dry run)' };
  const systemctl = await removeAndReload(unitDir, ours);
  return { unitDir, removed: ours, systemctl };
}

/**
 * systemctl only for the system's own unit directory and only where systemd is
 * the running init (`/run/systemd/system` exists, as sd_booted(3) checks);
 * otherwise the answer says why it was not run, for the caller to print.
 */
async function removeAndReload(unitDir: string, remove: string[]): Promise<string> {
  const why =
    unitDir !== SYSTEM_UNIT_DIR
      ? `${unitDir} is not ${SYSTEM_UNIT_DIR}`
      : !existsSync('/run/systemd/system')
        ? 'systemd is not the running init here'
        : '';
  const timers = remove.filter((p) => p.endsWith('.timer')).map((p) => path.basename(p));
  const done: string[] = [];
  if (!why && timers.length) {
    const r = spawnSync('systemctl', ['disable', '--now', ...timers], { encoding: 'utf8' });
    done.push(
      r.status === 0
        ? `systemctl disable --now ${timers.join(' ')}`
        : `systemctl disable failed: ${(r.stderr || String(r.error ?? '')).trim()}`,
    );
  }
  for (const p of remove) await unlink(p);
  if (why) return `systemctl not run (${why}); run \`systemctl daemon-reload\` where systemd reads these units`;
  const r = spawnSync('systemctl', ['daemon-reload'], { encoding: 'utf8' });
  done.push(
    r.status === 0
      ? 'systemctl daemon-reload'
      : `systemctl daemon-reload failed: ${(r.stderr || String(r.error ?? '')).trim()}`,
  );
  return done.join('; ');
}

async function ourUnits(unitDir: string): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(unitDir)).sort()) {
    if (!/^lifeboat-.+\.(service|timer)$/.test(name)) continue;
    const text = await readOrNull(path.join(unitDir, name));
    if (text?.startsWith(UNIT_MARKER)) out.push(path.join(unitDir, name));
  }
  return out;
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}
