/**
 * `lifeboat schedule systemd|cron`: the scheduled jobs for users who prefer
 * the system scheduler. Each job runs `lifeboat run JOB`, so the job lock
 * still keeps two runs of one job apart. systemd gets a oneshot service and a
 * timer per job (`Persistent=true` catches up a missed run, jitter becomes
 * `RandomizedDelaySec=`); cron gets one line per job (no catch-up, no jitter,
 * the system's time zone — said in comments where it matters).
 *
 * @module
 */

import path from 'node:path';
import type { LoadedConfig } from '../../config/load.js';
import { parseDuration } from '../../config/duration.js';
import { onCalendar } from './on-calendar.js';

/** A systemd unit file: its name and content. */
export interface UnitFile {
  name: string;
  text: string;
}

/** A service and a timer per scheduled job of the configuration, running `command`; and the jobs that could not be expressed. */
export function systemdUnits(loaded: LoadedConfig, command: string[]): { units: UnitFile[]; problems: string[] } {
  const units: UnitFile[] = [];
  const problems: string[] = [];
  const config = path.resolve(loaded.file);
  for (const [job, j] of Object.entries(loaded.config.jobs ?? {})) {
    if (!j.schedule) continue;
    const cal = onCalendar(j.schedule, j.timezone);
    if ('error' in cal) {
      problems.push(`job ${job}: ${cal.error}`);
      continue;
    }
    const unit = `lifeboat-${job}`;
    units.push({
      name: `${unit}.service`,
      text: `[Unit]
Description=Lifeboat job ${job}
Wants=network-online.target
After=network-online.target

[Service]
Type=oneshot
ExecStart=${[...command, '--config', config, 'run', job].map(quote).join(' ')}
Nice=10
IOSchedulingClass=idle
`,
    });
    units.push({
      name: `${unit}.timer`,
      text: `[Unit]
Description=Lifeboat job ${job} (${j.schedule}${j.timezone ? ` ${j.timezone}` : ''})

[Timer]
${cal.lines.map((l) => `OnCalendar=${l}`).join('\n')}
Persistent=true
${j.jitter ? `RandomizedDelaySec=${parseDuration(j.jitter)}\n` : ''}
[Install]
WantedBy=timers.target
`,
    });
  }
  return { units, problems };
}

/** Crontab lines for the scheduled jobs of the configuration, running `command`. */
export function crontab(loaded: LoadedConfig, command: string[]): string {
  const config = path.resolve(loaded.file);
  const lines = [
    '# Lifeboat jobs (lifeboat schedule cron). A missed run is not caught up: use systemd timers or `lifeboat serve` for that.',
  ];
  for (const [job, j] of Object.entries(loaded.config.jobs ?? {})) {
    if (!j.schedule) continue;
    const fields = j.schedule.trim().split(/\s+/);
    if (fields.length === 6) {
      lines.push(`# job ${job}: "${j.schedule}" has a seconds field, which cron cannot express; skipped`);
      continue;
    }
    if (j.timezone) lines.push(`# job ${job}: the schedule is in ${j.timezone}; cron uses the system's time zone`);
    if (j.jitter) lines.push(`# job ${job}: jitter ${j.jitter} is not applied by cron`);
    lines.push(`${j.schedule} ${[...command, '--config', config, 'run', job].map(quote).join(' ')}`);
  }
  return `${lines.join('\n')}\n`;
}

function quote(arg: string): string {
  return /^[A-Za-z0-9_./:@%+=-]+$/.test(arg) ? arg : `"${arg.replace(/(["\\$`])/g, '\\$1')}"`;
}
