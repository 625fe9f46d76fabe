import { z } from 'zod';
import type { SourceType } from '../config/source-schemas.js';
import { parseJsonWith } from '../repository/format/index.js';
import type { DrillReportShape } from './report-shape.js';

export type { Freshness, Objective } from './report-shape.js';

/** One restore drill, as stored in the repository (`drill/`), in local state and in the report files. */
export type DrillReport = DrillReportShape<SourceType>;

/** PASS only when every check passed, the objectives with a target were met, the smoke command succeeded and nothing was left behind. */
export function verdictOf(report: Pick<DrillReport, 'checks' | 'rto' | 'rpo' | 'smoke' | 'cleanup'>): {
  verdict: 'PASS' | 'FAIL';
  reasons: string[];
} {
  const reasons: string[] = [];
  for (const c of report.checks)
    if (!c.ok)
      reasons.push(
        `${c.name}: expected ${show(c.expected)}, found ${show(c.actual)}${c.detail ? ` (${c.detail})` : ''}`,
      );
  if (report.rto.ok === false)
    reasons.push(
      `RTO: the restore took ${seconds(report.rto.measuredSeconds ?? 0)}, the target is ${seconds(report.rto.targetSeconds!)}`,
    );
  if (report.rpo.ok === false)
    reasons.push(
      report.rpo.basis.startsWith('snapshot time')
        ? `RPO: the snapshot's newest data is ${seconds(report.rpo.measuredSeconds ?? 0)} older than the snapshot (${report.rpo.basis}), the target is ${seconds(report.rpo.targetSeconds!)}`
        : `RPO: ${seconds(report.rpo.measuredSeconds ?? 0)} (${report.rpo.basis}), the target is ${seconds(report.rpo.targetSeconds!)}`,
    );
  if (report.smoke && !report.smoke.ok)
    reasons.push(
      `smoke command failed (exit ${report.smoke.exitCode ?? 'none'}): ${report.smoke.output.split('\n').slice(-3).join(' ').slice(0, 300)}`,
    );
  if (!report.cleanup.ok) reasons.push(`cleanup: ${report.cleanup.detail ?? 'something was left behind'}`);
  return { verdict: reasons.length ? 'FAIL' : 'PASS', reasons };
}

export function show(value: unknown): string {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text === undefined ? 'nothing' : text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

/** 93784 → "1d 2h 3m 4s"; under a minute with one decimal. */
export function seconds(s: number): string {
  if (s < 60) return `${Math.round(s * 10) / 10}s`;
  const parts: string[] = [];
  let rest = Math.round(s);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join(' ');
}

const objectiveSchema = z.looseObject({
  measuredSeconds: z.number().nullable(),
  targetSeconds: z.number().nullable(),
  ok: z.boolean().nullable(),
  basis: z.string(),
});

/**
 * What a stored drill report must hold before the list, the API and the
 * dashboard read it; a malformed one is named as unreadable, not shown half.
 * Unknown fields are kept.
 */
export const drillReportSchema = z.looseObject({
  format: z.literal(1),
  id: z.string(),
  verdict: z.enum(['PASS', 'FAIL']),
  reasons: z.array(z.string()),
  source: z.looseObject({ name: z.string(), type: z.string() }),
  snapshot: z.looseObject({
    id: z.string(),
    time: z.string(),
    host: z.string(),
    files: z.number(),
    bytes: z.number(),
    selectedBy: z.string(),
    candidates: z.number(),
    seed: z.number(),
    within: z.string().nullable().default(null),
  }),
  repository: z.string(),
  restoredTo: z.string().nullable().default(null),
  mode: z.string(),
  isolation: z.looseObject({ server: z.enum(['throwaway', 'scratch_database']), detail: z.string() }).optional(),
  pointInTime: z
    .looseObject({
      base: z.string(),
      pointAt: z.string(),
      stoppedAt: z.string().nullable(),
      lastTransaction: z.string().nullable(),
      reached: z.boolean(),
    })
    .optional(),
  checks: z.array(
    z.looseObject({
      name: z.string(),
      ok: z.boolean(),
      expected: z.unknown(),
      actual: z.unknown(),
      detail: z.string().optional(),
    }),
  ),
  rto: objectiveSchema,
  rpo: objectiveSchema,
  freshness: z
    .looseObject({
      newestSnapshot: z.looseObject({ id: z.string(), time: z.string() }).nullable(),
      ageSeconds: z.number().nullable(),
      targetSeconds: z.number().nullable(),
      ok: z.boolean().nullable(),
    })
    .optional(),
  smoke: z
    .looseObject({
      command: z.string(),
      ok: z.boolean(),
      exitCode: z.number().nullable(),
      durationMs: z.number(),
      output: z.string(),
    })
    .nullable(),
  cleanup: z.looseObject({ ok: z.boolean(), detail: z.string().optional() }),
  startedAt: z.string(),
  finishedAt: z.string(),
  host: z.string(),
  user: z.string(),
  tool: z.string(),
  job: z.string().nullable().default(null),
});

export function parseDrillReport(plain: Buffer, object: string): DrillReport {
  return parseJsonWith(plain, drillReportSchema, `drill report ${object}`) as DrillReport;
}
