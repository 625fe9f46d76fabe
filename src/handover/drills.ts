import type { DrillReport } from '../drill/report.js';
import type { DrillFacts } from './inventory.js';

/**
 * The newest drill of each source. Reports stored in the repositories carry
 * the measured RTO and RPO; the local run history (what `compliance` reads)
 * only says when and whether. The newer of the two wins, so a drill whose
 * report could not be stored still counts.
 */
export function lastDrills(
  stored: Array<{ repository: string; report: DrillReport }>,
  history: Map<string, { time: string; passed: boolean }>,
): Map<string, DrillFacts> {
  const out = new Map<string, DrillFacts>();
  for (const { repository, report: r } of stored) {
    const known = out.get(r.source.name);
    if (known && known.time >= r.startedAt) continue;
    out.set(r.source.name, {
      time: r.startedAt,
      verdict: r.verdict,
      origin: 'repository',
      repository,
      snapshot: r.snapshot.id,
      rto: { measuredSeconds: r.rto.measuredSeconds, targetSeconds: r.rto.targetSeconds, ok: r.rto.ok },
      rpo: {
        measuredSeconds: r.rpo.measuredSeconds,
        targetSeconds: r.rpo.targetSeconds,
        ok: r.rpo.ok,
        basis: r.rpo.basis,
      },
      reasons: r.reasons,
    });
  }
  for (const [source, h] of history) {
    const known = out.get(source);
    if (known && known.time >= h.time) continue;
    out.set(source, { time: h.time, verdict: h.passed ? 'PASS' : 'FAIL', origin: 'history', reasons: [] });
  }
  return out;
}
