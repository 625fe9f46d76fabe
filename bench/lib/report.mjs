// Summaries (medians over runs) and the human-readable report of a results document.
// MB = 10^6 bytes. Peak RSS from `time -v` is in KiB and is converted to MB.

import { COPY_STEPS } from './copy-steps.mjs';

export const STEPS = ['init', 'backup-full', 'backup-unchanged', 'backup-mutated', 'restore', ...COPY_STEPS];
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

/** { "restic/lifeboat": { step: ratio } } — other tool's wall time divided by Lifeboat's. */
export function wallRatios(doc) {
  const ratios = {};
  if (!doc.tools.lifeboat) return ratios; // lifeboat not requested: no ratio columns
  const lb = doc.tools.lifeboat.summary;
  for (const [name, tool] of Object.entries(doc.tools)) {
    if (name === 'lifeboat' || !tool.summary) continue;
    const r = {};
    for (const step of STEPS) {
      const a = tool.summary.steps[step]?.wallSeconds;
      const b = lb?.steps[step]?.wallSeconds;
      r[step] = a && b ? Math.round((a / b) * 100) / 100 : null;
    }
    ratios[`${name}/lifeboat`] = r;
  }
  return ratios;
}

const fmt = (x, digits) => (x === null || x === undefined ? '-' : x.toFixed(digits));
const mb = (bytes) => (bytes === null || bytes === undefined ? null : bytes / 1e6);
const rssMb = (kb) => (kb === null || kb === undefined ? null : (kb * 1024) / 1e6);
const pad = (s, w) => String(s).padStart(w);
const int = (n) => Number(n).toLocaleString('en-US');

/** The text report printed at the end of a run. */
export function formatReport(doc) {
  const out = [];
  const names = Object.keys(doc.tools);
  const measured = names.filter((n) => doc.tools[n].summary);
  const ratioNames = Object.keys(doc.ratios || {});
  const ds = doc.dataset;
  const runsNote = doc.options.runs > 1 ? `median of ${doc.options.runs} runs` : '1 run';
  out.push(`Lifeboat benchmark — ${doc.options.mode} cache, ${runsNote}`);
  out.push(
    `dataset: ${ds.path} (${int(ds.files)} files, ${fmt(mb(ds.bytes), 1)} MB${ds.scale !== undefined ? `, scale ${ds.scale}, seed ${ds.seed}` : ''})`,
  );
  out.push(
    `host: ${doc.host.cpus} × ${doc.host.cpuModel}, ${fmt(doc.host.memoryBytes / 1e9, 1)} GB RAM, node ${doc.host.node}`,
  );
  for (const n of names) {
    const t = doc.tools[n];
    const what =
      t.status === 'skipped' ? `SKIPPED — ${t.reason}` : `${t.version}${t.status === 'failed' ? '  (FAILED)' : ''}`;
    out.push(`  ${n.padEnd(9)} ${what}`);
  }
  out.push('');

  const w0 = 14,
    w = 12;
  const head =
    pad('', w0) +
    names.map((n) => pad(n, w)).join('') +
    ratioNames.map((r) => pad(r, Math.max(w, r.length + 2))).join('');
  const rows = [
    ['wall s', (s) => fmt(s?.wallSeconds, 2), true],
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
    out.push(head);
    for (const [label, get, withRatio] of step.startsWith('copy-') ? [...rows, ...copyRows] : rows) {
      let line = `  ${label}`.padEnd(w0) + names.map((n) => pad(get(doc.tools[n].summary?.steps[step]), w)).join('');
      for (const r of ratioNames) {
        const width = Math.max(w, r.length + 2);
        line += pad(withRatio ? fmt(doc.ratios[r][step], 2) : '', width);
      }
      out.push(line.trimEnd());
    }
    out.push('');
  }
  if (ratioNames.length) {
    out.push('ratio = other tool wall s / lifeboat wall s (>1 means Lifeboat took less wall time)');
    if (!doc.tools.lifeboat.summary) out.push('(no ratios: lifeboat was not measured in this run)');
    out.push('');
  }

  out.push('repo bytes added by the backup after the ~1% mutation:');
  for (const n of measured) {
    const added = doc.tools[n].summary.repoAddedByMutatedBackup;
    out.push(`  ${n.padEnd(9)} ${added === null ? '-' : `${fmt(mb(added), 1)} MB (${int(added)} bytes)`}`);
  }
  out.push('', 'restore verification (restored tree vs mutated dataset: paths, sizes, SHA-256):');
  for (const n of measured) {
    const t = doc.tools[n];
    for (const r of t.runs) {
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
  const failures = measured.flatMap((n) => doc.tools[n].runs.filter((r) => r.failedStep).map((r) => ({ n, r })));
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
  out.push('', `overall: ${doc.ok ? 'OK' : 'FAILED'}`);
  return out.join('\n');
}
