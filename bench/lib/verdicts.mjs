// The bars Lifeboat is held to against restic, judged per case on the medians of a run:
//   memory  — peak RSS ≤ 1.5× restic's on every data step (full, unchanged, after the change, restore)
//   faster  — less wall time than restic on every step (init included)
//   speedup — full backup and restore at least 1.5× restic's speed (restic wall ÷ Lifeboat wall)
// plus the repository sizes beside them, so a speedup that costs space shows.
// A bar whose steps were not all measured for both tools fails, naming the missing steps;
// it is n/a (pass: null) only when Lifeboat or restic was not measured at all.

export const RSS_BAR = 1.5;
export const SPEEDUP_BAR = 1.5;
export const RSS_STEPS = ['backup-full', 'backup-unchanged', 'backup-mutated', 'restore'];
export const FASTER_STEPS = ['init', 'backup-full', 'backup-unchanged', 'backup-mutated', 'restore'];
export const SPEEDUP_STEPS = ['backup-full', 'restore'];

export const SHORT = {
  init: 'init',
  'backup-full': 'full',
  'backup-unchanged': 'unchanged',
  'backup-mutated': 'after change',
  restore: 'restore',
};

const round2 = (x) => Math.round(x * 100) / 100;
const ratio = (a, b) => (typeof a === 'number' && typeof b === 'number' && b > 0 ? round2(a / b) : null);

/** Judge `ratios` (step → number|null) with `ok(ratio)`; missing ratios are misses. */
function judge(bar, steps, ratios, ok, measured) {
  if (!measured) return { bar, pass: null, ratios, missed: [], reason: 'lifeboat or restic not measured' };
  const missed = steps.filter((s) => ratios[s] === null || !ok(ratios[s]));
  const missing = steps.filter((s) => ratios[s] === null);
  return { bar, pass: missed.length === 0, ratios, missed, ...(missing.length ? { missing } : {}) };
}

/** Verdicts of one case from its tools' summaries (`tools[name].summary.steps[step]`). */
export function caseVerdicts(tools) {
  const lb = tools.lifeboat?.summary?.steps;
  const r = tools.restic?.summary?.steps;
  const measured = !!(lb && r && Object.keys(lb).length && Object.keys(r).length);
  const pick = (steps, f) => Object.fromEntries(steps.map((s) => [s, measured ? f(lb[s], r[s]) : null]));
  const rss = pick(RSS_STEPS, (l, x) => ratio(l?.maxRssKB, x?.maxRssKB));
  const wall = pick(FASTER_STEPS, (l, x) => ratio(x?.wallSeconds, l?.wallSeconds));
  const speed = Object.fromEntries(SPEEDUP_STEPS.map((s) => [s, wall[s] ?? null]));
  const size = (get) => {
    const l = get(tools.lifeboat?.summary) ?? null;
    const x = get(tools.restic?.summary) ?? null;
    return { lifeboat: l, restic: x, lifeboatToRestic: ratio(l, x) };
  };
  return {
    memory: judge(
      `peak RSS ≤ ${RSS_BAR}× restic's on every step (full, unchanged, after the change, restore)`,
      RSS_STEPS,
      rss,
      (v) => v <= RSS_BAR,
      measured,
    ),
    faster: judge('time: Lifeboat faster than restic on every step', FASTER_STEPS, wall, (v) => v > 1, measured),
    speedup: judge(
      `full backup and restore ≥ ${SPEEDUP_BAR}× restic`,
      SPEEDUP_STEPS,
      speed,
      (v) => v >= SPEEDUP_BAR,
      measured,
    ),
    repository: {
      afterFullBackup: size((s) => s?.steps['backup-full']?.repoBytes),
      addedByChange: size((s) => s?.repoAddedByMutatedBackup),
    },
  };
}

const word = (v) => (v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'FAIL');
const list = (ratios) =>
  Object.entries(ratios)
    .map(([s, x]) => `${SHORT[s] ?? s} ${x === null ? '-' : x.toFixed(2)}`)
    .join(', ');
const mb = (b) => (b === null ? '-' : `${(b / 1e6).toFixed(1)} MB`);

/** The verdict lines of one case (indented by `indent`). */
export function formatVerdicts(v, indent = '  ') {
  const line = (x, what) => {
    const tail = x.pass === null ? ` (${x.reason})` : ` — ${what}: ${list(x.ratios)}`;
    const miss = x.missed.length ? `; missed: ${x.missed.map((s) => SHORT[s] ?? s).join(', ')}` : '';
    return `${indent}${word(x)}  ${x.bar}${tail}${miss}`;
  };
  const { afterFullBackup: a, addedByChange: d } = v.repository;
  const x = (r) => (r === null ? '' : ` (lifeboat/restic ${r.toFixed(2)})`);
  return [
    line(v.memory, 'lifeboat/restic peak RSS'),
    line(v.faster, 'restic/lifeboat wall'),
    line(v.speedup, 'restic/lifeboat wall'),
    `${indent}size  repository after the full backup: lifeboat ${mb(a.lifeboat)}, restic ${mb(a.restic)}${x(a.lifeboatToRestic)}; added by the change: lifeboat ${mb(d.lifeboat)}, restic ${mb(d.restic)}${x(d.lifeboatToRestic)}`,
  ];
}

/** One line per case and bar for the summary at the end of the report. */
export function formatVerdictSummary(cases) {
  const out = [];
  for (const c of cases) {
    const v = c.verdicts;
    const miss = (x) => (x.pass === false ? ` (missed: ${x.missed.map((s) => SHORT[s] ?? s).join(', ')})` : '');
    out.push(
      `  ${c.id.padEnd(12)} ${c.mode.padEnd(5)} memory ${word(v.memory)}${miss(v.memory)} · faster ${word(v.faster)}${miss(v.faster)} · ${SPEEDUP_BAR}× ${word(v.speedup)}${miss(v.speedup)}`,
    );
  }
  return out;
}

/** { caseId: { memory, faster, speedup } } with true/false/null per bar, for the top of the JSON. */
export function verdictIndex(cases) {
  return Object.fromEntries(
    cases.map((c) => [
      c.id,
      { memory: c.verdicts.memory.pass, faster: c.verdicts.faster.pass, speedup: c.verdicts.speedup.pass },
    ]),
  );
}
