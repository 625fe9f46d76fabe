// Summaries (medians over runs) and the human-readable report of a results document.
// MB = 10^6 bytes. Peak RSS from `time -v` is in KiB and is converted to MB.

import { STEPS } from './sequence.mjs';
import { formatVerdicts, formatVerdictSummary } from './verdicts.mjs';

export { STEPS };
const METRICS = [
  'wallSeconds',
  'userSeconds',
  'sysSeconds',
  'cpuSeconds',
  'maxRssKB',
  'repoBytes',
  'destRepoBytes',
  'bytesRead',
];

export function median(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/** Median of every metric per step over the runs that completed that step. */
export function summarizeTool(tool) {
  const steps = {};
  for (const step of STEPS) {
    const done = tool.runs.map((r) => r.steps[step]).filter((s) => s && s.ok);
    if (done.length === 0) continue;
    steps[step] = { n: done.length };
    for (const m of METRICS) steps[step][m] = median(done.map((s) => s[m]));
  }
  const verifyRuns = tool.runs.filter((r) => r.verify);
  return {
    steps,
    repoAddedByMutatedBackup: median(tool.runs.map((r) => r.repoAddedByMutatedBackup)),
    verifiedRuns: verifyRuns.filter((r) => r.verify.ok).length,
    totalRuns: tool.runs.length,
  };
}

/**
 * Ratios against every other tool, per step: `wall` = other tool's wall s ÷ Lifeboat's (> 1: Lifeboat
 * faster), `rss` = Lifeboat's peak RSS ÷ the other tool's (< 1: Lifeboat smaller).
 * Shape: { wall: { "restic/lifeboat": { step: x } }, rss: { "lifeboat/restic": { step: x } } }.
 */
export function toolRatios(tools) {
  const ratios = { wall: {}, rss: {} };
  const lb = tools.lifeboat?.summary;
  if (!lb) return ratios; // lifeboat not measured: no ratio rows
  const q = (a, b) => (a && b ? Math.round((a / b) * 100) / 100 : null);
  for (const [name, tool] of Object.entries(tools)) {
    if (name === 'lifeboat' || !tool.summary) continue;
    const wall = {};
    const rss = {};
    for (const step of STEPS) {
      wall[step] = q(tool.summary.steps[step]?.wallSeconds, lb.steps[step]?.wallSeconds);
      rss[step] = q(lb.steps[step]?.maxRssKB, tool.summary.steps[step]?.maxRssKB);
    }
    ratios.wall[`${name}/lifeboat`] = wall;
    ratios.rss[`lifeboat/${name}`] = rss;
  }
  return ratios;
}

const fmt = (x, digits) => (x === null || x === undefined ? '-' : x.toFixed(digits));
const mb = (bytes) => (bytes === null || bytes === undefined ? null : bytes / 1e6);
const rssMb = (kb) => (kb === null || kb === undefined ? null : (kb * 1024) / 1e6);
const pad = (s, w) => String(s).padStart(w);
const int = (n) => Number(n).toLocaleString('en-US');

/** The tables, ratios, verdicts and verification of one case. */
function formatCase(doc, c) {
  const out = [];
  const names = Object.keys(c.tools);
  const measured = names.filter((n) => c.tools[n].summary);
  const runsNote = doc.options.runs > 1 ? `median of ${doc.options.runs} runs` : '1 run';
  const what = c.kind === 'generated' ? `scale ${c.scale}, seed ${c.seed}` : c.kind === 'real-tree' ? c.spec : c.path;
  out.push(`== ${c.label} — ${c.mode} cache, ${runsNote}`);
  out.push(`   ${c.path} (${int(c.files)} files, ${fmt(mb(c.bytes), 1)} MB; ${what}); change: ${c.change}`);
  const loads = names.flatMap((n) => (c.tools[n].runs ?? []).map((r) => r.loadBefore?.one));
  const nums = loads.filter((x) => typeof x === 'number');
  if (nums.length) out.push(`   1-minute load before the runs: ${nums.map((x) => x.toFixed(2)).join(', ')}`);
  out.push('');

  const w0 = 18,
    w = 12;
  const others = names.filter((n) => n !== 'lifeboat');
  const hasLb = !!c.tools.lifeboat?.summary;
  const rows = [
    ['wall s', (s) => fmt(s?.wallSeconds, 2)],
    ['CPU s', (s) => fmt(s?.cpuSeconds, 2)],
    ['peak RSS MB', (s) => fmt(rssMb(s?.maxRssKB), 1)],
    ['repo MB', (s) => fmt(mb(s?.repoBytes), 1)],
  ];
  const copyRows = [
    ['dest repo MB', (s) => fmt(mb(s?.destRepoBytes), 1)],
    ['read MB', (s) => fmt(mb(s?.bytesRead), 1)],
  ];
  for (const step of STEPS) {
    out.push(`${step}${step === 'restore' ? ' (full, into an empty dir)' : ''}`);
    out.push((pad('', w0) + names.map((n) => pad(n, w)).join('')).trimEnd());
    for (const [label, get] of step.startsWith('copy-') ? [...rows, ...copyRows] : rows)
      out.push(`  ${label}`.padEnd(w0) + names.map((n) => pad(get(c.tools[n].summary?.steps[step]), w)).join(''));
    if (hasLb && others.length) {
      const cell = (n, kind, key) => (n === 'lifeboat' ? '' : fmt(c.ratios[kind][key(n)]?.[step], 2));
      out.push(
        `  wall other/L`.padEnd(w0) +
          names
            .map((n) =>
              pad(
                cell(n, 'wall', (o) => `${o}/lifeboat`),
                w,
              ),
            )
            .join(''),
      );
      out.push(
        `  RSS L/other`.padEnd(w0) +
          names
            .map((n) =>
              pad(
                cell(n, 'rss', (o) => `lifeboat/${o}`),
                w,
              ),
            )
            .join(''),
      );
    }
    out.push('');
  }
  out.push('repo bytes added by the backup after the change:');
  for (const n of measured) {
    const added = c.tools[n].summary.repoAddedByMutatedBackup;
    out.push(`  ${n.padEnd(9)} ${added === null ? '-' : `${fmt(mb(added), 1)} MB (${int(added)} bytes)`}`);
  }
  out.push('', `verdicts (Lifeboat vs restic, ${c.label}, ${c.mode} cache):`, ...formatVerdicts(c.verdicts), '');
  out.push('restore verification (restored tree vs changed working copy: paths, sizes, SHA-256):');
  for (const n of measured) {
    for (const r of c.tools[n].runs) {
      const prefix = `  ${n.padEnd(9)}${doc.options.runs > 1 ? ` run ${r.run}` : ''}`;
      if (!r.verify) {
        out.push(`${prefix} not verified (${r.failedStep ? `step ${r.failedStep} failed` : 'no restore'})`);
        continue;
      }
      const v = r.verify;
      if (v.ok) out.push(`${prefix} OK — ${int(v.files)} files, ${int(v.dirs)} dirs, ${int(v.bytes)} bytes identical`);
      else {
        out.push(`${prefix} MISMATCH — ${v.differences.length + v.moreDifferences} difference(s):`);
        for (const d of v.differences) out.push(`      ${d.path}: ${d.problem}`);
        if (v.moreDifferences) out.push(`      … and ${v.moreDifferences} more`);
      }
    }
  }
  const failures = measured.flatMap((n) => c.tools[n].runs.filter((r) => r.failedStep).map((r) => ({ n, r })));
  if (failures.length) {
    out.push('', 'FAILED steps:');
    for (const { n, r } of failures) {
      const s = r.steps[r.failedStep] || {};
      out.push(
        `  ${n} run ${r.run}: ${r.failedStep} (${s.error || `exit ${s.exitCode}${s.signal ? `, signal ${s.signal}` : ''}`}) — log ${s.log || r.failureLog || '?'}`,
      );
      if (r.failureTail) out.push(...r.failureTail.split('\n').map((l) => `      ${l}`));
    }
  }
  out.push('');
  return out;
}

/** The text report printed at the end of a run. */
export function formatReport(doc) {
  const out = [];
  out.push(`Lifeboat benchmark — ${doc.cases.length} case(s), ${doc.options.runs} run(s) each, tools interleaved`);
  out.push(
    `host: ${doc.host.cpus} × ${doc.host.cpuModel}, ${fmt(doc.host.memoryBytes / 1e9, 1)} GB RAM, node ${doc.host.node}`,
  );
  const q = doc.load;
  out.push(
    `load before measuring: ${q.final.uptime}${q.clean ? '' : `  (ABOVE ${doc.options.maxLoad} after waiting ${q.waitedSeconds} s: figures may be disturbed)`}`,
  );
  for (const [n, t] of Object.entries(doc.tools)) {
    const what = t.status === 'skipped' ? `SKIPPED — ${t.reason}` : t.version;
    out.push(`  ${n.padEnd(9)} ${what}`);
  }
  out.push('');
  for (const c of doc.cases) out.push(...formatCase(doc, c));
  out.push('wall other/L = other tool wall s ÷ lifeboat wall s (> 1: Lifeboat faster);');
  out.push('RSS L/other = lifeboat peak RSS ÷ other tool peak RSS (≤ 1.5 wanted against restic).');
  out.push('', 'summary (Lifeboat vs restic):', ...formatVerdictSummary(doc.cases));
  out.push(
    '',
    `overall: ${doc.ok ? 'OK' : 'FAILED'} (every step ran and every restore verified; the bars do not set this)`,
  );
  return out.join('\n');
}
