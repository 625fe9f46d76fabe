import { formatBytes } from '../util/format.js';
import { seconds, show, type DrillReport, type Objective } from './report.js';

const measured = (s: number | null) => (s === null ? 'not measured' : seconds(s));
const objective = (o: Objective) =>
  `${measured(o.measuredSeconds)} (target ${o.targetSeconds === null ? 'none' : seconds(o.targetSeconds)}) ${o.ok === null ? '–' : o.ok ? 'met' : 'MISSED'}`;

/** The age of the source's newest backup at drill time: informational, `status` and `compliance` judge it. */
export function freshnessText(f: NonNullable<DrillReport['freshness']>): string {
  if (!f.newestSnapshot) return 'no snapshot of the source';
  const judged = f.ok === null ? '' : f.ok ? ', within the RPO' : ', OLDER THAN THE RPO';
  return `${f.newestSnapshot.id.slice(0, 8)} of ${f.newestSnapshot.time}, ${measured(f.ageSeconds)} old when the drill ran${f.targetSeconds === null ? '' : ` (RPO ${seconds(f.targetSeconds)}${judged})`}`;
}

/** One line for terminals and logs. */
export function summaryLine(r: DrillReport): string {
  const what = r.pointInTime
    ? `point in time ${r.pointInTime.pointAt} from base backup ${r.snapshot.id.slice(0, 8)}`
    : `snapshot ${r.snapshot.id.slice(0, 8)} of ${r.snapshot.time}`;
  return `${r.verdict} ${r.source.name} (${r.source.type}) ${what}: RTO ${objective(r.rto)}, ${r.pointInTime ? 'RPO achievable now' : 'RPO of the snapshot'} ${objective(r.rpo)}${r.freshness?.ok === false ? `; newest backup ${freshnessText(r.freshness)}` : ''}`;
}

function rows(r: DrillReport): Array<[string, string, string, string]> {
  const out: Array<[string, string, string, string]> = r.checks.map((c) => [
    c.name,
    show(c.expected),
    show(c.actual) + (c.detail && !c.ok ? ` — ${c.detail}` : ''),
    c.ok ? 'ok' : 'FAIL',
  ]);
  out.push([
    'RTO',
    r.rto.targetSeconds === null ? 'no target' : `≤ ${seconds(r.rto.targetSeconds)}`,
    `${measured(r.rto.measuredSeconds)} (${r.rto.basis})`,
    r.rto.ok === null ? '–' : r.rto.ok ? 'ok' : 'FAIL',
  ]);
  out.push([
    r.pointInTime ? 'RPO achievable now' : 'RPO of this snapshot',
    r.rpo.targetSeconds === null ? 'no target' : `≤ ${seconds(r.rpo.targetSeconds)}`,
    `${measured(r.rpo.measuredSeconds)} (${r.rpo.basis})`,
    r.rpo.ok === null ? '–' : r.rpo.ok ? 'ok' : 'FAIL',
  ]);
  if (r.smoke) out.push(['smoke', 'exit 0', `exit ${r.smoke.exitCode ?? 'none'}`, r.smoke.ok ? 'ok' : 'FAIL']);
  out.push([
    'cleanup',
    'nothing left behind',
    r.cleanup.ok ? 'removed' : (r.cleanup.detail ?? 'left behind'),
    r.cleanup.ok ? 'ok' : 'FAIL',
  ]);
  return out;
}

function facts(r: DrillReport): Array<[string, string]> {
  return [
    ['Source', `${r.source.name} (${r.source.type})`],
    [
      'Snapshot',
      `${r.snapshot.id} — ${r.snapshot.time} from ${r.snapshot.host}; ${r.snapshot.files} files, ${formatBytes(r.snapshot.bytes)}`,
    ],
    [
      'Chosen',
      `${r.snapshot.selectedBy}${r.snapshot.within ? ` within ${r.snapshot.within}` : ''} among ${r.snapshot.candidates} (seed ${r.snapshot.seed})`,
    ],
    ['Restored to', `${r.restoredTo ?? '—'} (isolated, removed afterwards)`],
    ...(r.isolation
      ? ([
          [
            'Server',
            `${r.isolation.server === 'throwaway' ? 'throwaway server' : 'scratch database on the configured server'}: ${r.isolation.detail}`,
          ],
        ] as Array<[string, string]>)
      : []),
    ...(r.pointInTime
      ? ([
          [
            'Point in time',
            `${r.pointInTime.pointAt}: ${r.pointInTime.reached ? `recovery stopped ${r.pointInTime.stoppedAt ?? 'at the target'}` : 'target NOT reached'}${r.pointInTime.lastTransaction ? `; last transaction at ${r.pointInTime.lastTransaction}` : ''}`,
          ],
        ] as Array<[string, string]>)
      : []),
    ['Verification', r.mode],
    ['Repository', r.repository],
    ['Time', `${r.startedAt} → ${r.finishedAt}`],
    ...(r.freshness
      ? ([['Newest backup (not judged here)', freshnessText(r.freshness)]] as Array<[string, string]>)
      : []),
    ['Host', `${r.user}@${r.host}`],
    ['Tool', r.tool],
    ...(r.job ? ([['Job', r.job]] as Array<[string, string]>) : []),
  ];
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function renderMarkdown(r: DrillReport): string {
  const lines = [`# Restore drill: ${r.verdict} — ${r.source.name}`, '', `**${summaryLine(r)}**`, ''];
  if (r.reasons.length) lines.push('## Why it failed', '', ...r.reasons.map((x) => `- ${x}`), '');
  lines.push('## What was tested', '', '| | |', '|---|---|', ...facts(r).map(([k, v]) => `| ${k} | ${cell(v)} |`), '');
  lines.push(
    '## Checks',
    '',
    '| check | expected | actual | result |',
    '|---|---|---|---|',
    ...rows(r).map((row) => `| ${row.map(cell).join(' | ')} |`),
    '',
  );
  if (r.smoke)
    lines.push(
      '## Smoke command',
      '',
      '```',
      r.smoke.command,
      '```',
      '',
      'Output (end):',
      '',
      '```',
      r.smoke.output.trim() || '(none)',
      '```',
      '',
    );
  return lines.join('\n');
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A self-contained page: no scripts, no external styles or fonts. */
export function renderHtml(r: DrillReport): string {
  const pass = r.verdict === 'PASS';
  const tr = (cells: string[], tag = 'td') => `<tr>${cells.map((c) => `<${tag}>${esc(c)}</${tag}>`).join('')}</tr>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Restore drill ${esc(r.verdict)} — ${esc(r.source.name)}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.5rem}.verdict{display:inline-block;padding:.2rem .7rem;border-radius:.3rem;color:#fff;background:${pass ? '#1a7f37' : '#cf222e'}}
table{border-collapse:collapse;width:100%;margin:1rem 0}td,th{border:1px solid #d0d7de;padding:.35rem .6rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.FAIL{color:#cf222e;font-weight:600}pre{background:#f6f8fa;padding:.7rem;overflow:auto}
</style></head><body>
<h1><span class="verdict">${esc(r.verdict)}</span> Restore drill of ${esc(r.source.name)}</h1>
<p>${esc(summaryLine(r))}</p>
${r.reasons.length ? `<h2>Why it failed</h2><ul>${r.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}
<h2>What was tested</h2><table>${facts(r)
    .map(([k, v]) => tr([k, v]))
    .join('')}</table>
<h2>Checks</h2><table>${tr(['check', 'expected', 'actual', 'result'], 'th')}${rows(r)
    .map(
      (row) =>
        `<tr>${row
          .slice(0, 3)
          .map((c) => `<td>${esc(c)}</td>`)
          .join('')}<td class="${row[3] === 'FAIL' ? 'FAIL' : ''}">${esc(row[3])}</td></tr>`,
    )
    .join('')}</table>
${r.smoke ? `<h2>Smoke command</h2><pre>${esc(r.smoke.command)}</pre><pre>${esc(r.smoke.output.trim() || '(no output)')}</pre>` : ''}
<p><small>Report ${esc(r.id)} · ${esc(r.tool)}</small></p>
</body></html>
`;
}
