import { describe, expect, it } from 'vitest';
import type { SnapshotEntry } from '../repository/format/index.js';
import { freshnessOf, snapshotRpo } from './drill.js';
import { verdictOf } from './report.js';

/** A drill's RPO is that of the snapshot drilled (its time minus the newest data in it), whenever the drill runs. */
describe('snapshot RPO and freshness', () => {
  const tenDaysAgo = new Date(Date.now() - 10 * 86_400_000);
  const at = (msBefore: number) => new Date(tenDaysAgo.getTime() - msBefore);

  it('a 10-day-old snapshot whose newest row is 30 minutes older than it meets a 1-hour RPO', () => {
    const rpo = snapshotRpo(
      { column: 'events.created_at', newest: at(30 * 60_000).toISOString(), time: at(30 * 60_000) },
      tenDaysAgo.toISOString(),
      3600,
    );
    expect(rpo).toEqual({
      measuredSeconds: 1800,
      targetSeconds: 3600,
      ok: true,
      basis: 'snapshot time minus the newest events.created_at in the restored copy',
    });
  });

  it('fails when the snapshot already lacked the last 2 hours of data', () => {
    const rpo = snapshotRpo(
      { column: 'events.created_at', newest: '', time: at(2 * 3600_000) },
      tenDaysAgo.toISOString(),
      3600,
    );
    expect(rpo.ok).toBe(false);
    const { verdict, reasons } = verdictOf({
      checks: [],
      rto: { measuredSeconds: 1, targetSeconds: null, ok: null, basis: '' },
      rpo,
      smoke: null,
      cleanup: { ok: true },
    });
    expect(verdict).toBe('FAIL');
    expect(reasons).toEqual([
      "RPO: the snapshot's newest data is 2h older than the snapshot (snapshot time minus the newest events.created_at in the restored copy), the target is 1h",
    ]);
  });

  it("a point-in-time drill's RPO (now minus the newest archived WAL) is named by its basis when it misses", () => {
    const { reasons } = verdictOf({
      checks: [],
      rto: { measuredSeconds: 1, targetSeconds: null, ok: null, basis: '' },
      rpo: { measuredSeconds: 7200, targetSeconds: 3600, ok: false, basis: 'now minus the newest archived WAL' },
      smoke: null,
      cleanup: { ok: true },
    });
    expect(reasons).toEqual(['RPO: 2h (now minus the newest archived WAL), the target is 1h']);
  });

  it('is not measured (and not judged) without recent_data, or when it is empty', () => {
    expect(snapshotRpo(undefined, tenDaysAgo.toISOString(), 3600)).toMatchObject({
      measuredSeconds: null,
      ok: null,
      basis: 'not measured: the source has no recent_data',
    });
    expect(snapshotRpo({ column: 'events.created_at', newest: null }, tenDaysAgo.toISOString(), 3600)).toMatchObject({
      measuredSeconds: null,
      ok: null,
      basis: 'not measured: events.created_at has no rows',
    });
  });

  it('freshness is the age of the newest snapshot of the source at drill time', () => {
    const now = Date.now();
    const snap = (id: string, source: string, msAgo: number) =>
      ({ id, source, time: new Date(now - msAgo).toISOString() }) as SnapshotEntry;
    const list = [snap('a', 'db', 10 * 86_400_000), snap('b', 'db', 2 * 3600_000), snap('c', 'other', 60_000)];
    expect(freshnessOf(list, 'db', 3600, now)).toEqual({
      newestSnapshot: { id: 'b', time: list[1]!.time },
      ageSeconds: 7200,
      targetSeconds: 3600,
      ok: false,
    });
    expect(freshnessOf(list, 'db', null, now).ok).toBe(null);
    expect(freshnessOf(list, 'none', 3600, now)).toEqual({
      newestSnapshot: null,
      ageSeconds: null,
      targetSeconds: 3600,
      ok: false,
    });
  });
});
