/**
 * Short texts shared by the runbook and the keys page.
 *
 * @module
 */

import { formatBytes, formatTime } from '../util/format.js';
import { seconds } from '../drill/report.js';
import { code } from './document.js';
import type { DrillFacts, RepositoryFacts, SecretSource } from './inventory.js';

export const when = (iso: string) => formatTime(iso);
export const size = (bytes: number) => formatBytes(bytes);
export const shortId = (id: string) => code(id.slice(0, 8));

/** A setting's value for a table cell: lists joined, every value a code span. */
export function settingValue(value: string | boolean | string[] | number): string {
  if (Array.isArray(value)) return value.map((v) => code(v)).join(', ');
  return code(String(value));
}

export function secretText(s: SecretSource, repository: string): string {
  switch (s.kind) {
    case 'password_file':
      return `the password is in the file ${code(s.where!)} (on the original host; keep a copy where the owner keeps passwords)`;
    case 'key_file':
      return `a recovery key file: ${code(s.where!)}`;
    case 'password_command':
      return `the command in ${code('password_command')} of repository ${code(repository)} in lifeboat.yaml prints it (not copied here: a command may hold a token)`;
    case 'environment':
      return `it was given in ${code(s.where!)} when this pack was made: **write down here where it is kept:** ____________________`;
    case 'prompt':
      return 'it was typed at a prompt: **write down here where it is kept:** ____________________';
  }
}

export function objective(o: {
  measuredSeconds: number | null;
  targetSeconds: number | null;
  ok: boolean | null;
}): string {
  const target = o.targetSeconds === null ? 'no target' : `target ${seconds(o.targetSeconds)}`;
  return `${o.measuredSeconds === null ? 'not measured' : seconds(o.measuredSeconds)} (${target}${o.ok === null ? '' : o.ok ? ', met' : ', MISSED'})`;
}

export function drillText(d: DrillFacts | null): string {
  if (!d) return 'no drill recorded';
  const base = `${d.verdict} on ${when(d.time)}`;
  if (d.origin === 'history')
    return `${base} (from the local run history; no report with measurements in the repositories)`;
  return `${base} from ${code(d.repository!)}, snapshot ${shortId(d.snapshot!)}; RTO ${objective(d.rto!)}; RPO ${objective(d.rpo!)}`;
}

export function reachText(r: RepositoryFacts): string {
  if (!r.reachable) return `**UNREACHABLE** when this pack was made: ${r.error ?? 'unknown error'}`;
  const s = r.snapshots!;
  return `reachable; ${s.count} snapshot(s)${s.oldest ? `, ${when(s.oldest)} … ${when(s.newest!)}` : ''}${s.unreadable ? `; ${s.unreadable} unreadable` : ''}`;
}

export function retentionText(r: RepositoryFacts): string {
  if (!r.retention) return 'none configured (keeps everything)';
  return Object.entries(r.retention)
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(', ') : String(v)}`)
    .join('; ');
}
