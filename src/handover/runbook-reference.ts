import { code, heading, list, para, table, type Block } from './document.js';
import { objective, settingValue, shortId, when } from './facts-text.js';
import type { Inventory } from './inventory.js';

/** Jobs, notifications, drills and compliance: how the system kept its backups, for whoever takes it over. */
export function referenceSections(inv: Inventory): Block[] {
  return [...jobsSection(inv), ...notificationsSection(inv), ...drillsSection(inv), ...complianceSection(inv)];
}

function jobsSection(inv: Inventory): Block[] {
  const blocks: Block[] = [heading(2, 'Jobs and schedules')];
  if (inv.jobs.length === 0)
    return [...blocks, para('No jobs are configured: backups ran only when someone ran them.')];
  blocks.push(
    table(
      ['job', 'schedule', 'sources', 'to', 'copies to', 'then', 'drill'],
      inv.jobs.map((j) => [
        code(j.name),
        j.schedule ? `${code(j.schedule)}${j.timezone ? ` (${j.timezone})` : ''}` : 'none (run by hand or by `guard`)',
        j.sources === 'all' ? 'all' : j.sources.length ? j.sources.map(code).join(', ') : '—',
        j.to ? code(j.to) : '—',
        j.copyTo.length ? j.copyTo.map(code).join(', ') : '—',
        [...j.then, ...(j.keepLast ? [`keep_last ${j.keepLast}`] : [])].join(', ') || '—',
        j.drill ? `within ${j.drill.within ?? 'newest'}` : '—',
      ]),
    ),
    para(
      `Jobs run under ${code('lifeboat serve')} (the daemon), or from system timers printed by ${code('lifeboat schedule systemd')} or ${code('lifeboat schedule cron')}. Run one by hand with ${code('lifeboat run JOB')}. Run history: ${code(inv.generated.stateDir)} (a cache, rebuilt from the repositories).`,
    ),
  );
  return blocks;
}

function notificationsSection(inv: Inventory): Block[] {
  const blocks: Block[] = [heading(2, 'Notifications and the daemon')];
  if (inv.notifications.length) {
    blocks.push(
      table(
        ['type', 'goes to', 'secret files (paths only)', 'when'],
        inv.notifications.map((n) => [
          n.type,
          n.type === 'email' ? n.target : code(n.target),
          Object.entries(n.files)
            .map(([k, v]) => `${code(k)} ${code(v)}`)
            .join(', ') || '—',
          n.on?.join(', ') ?? (n.jobs ? `jobs ${n.jobs.join(', ')}` : 'default'),
        ]),
      ),
      para('Webhook and ping addresses show only their scheme and host: their paths often carry tokens.'),
    );
  } else blocks.push(para('No notifications are configured.'));
  const server = inv.server;
  blocks.push(
    para(
      `API and dashboard: ${server?.listen ? code(server.listen) : 'the default `127.0.0.1:8528`'}; the bearer token is in ${server?.tokenFile ? code(server.tokenFile) : `${code('api.token')} under the state directory`}.`,
    ),
  );
  if (inv.alerts)
    blocks.push(
      para(
        `Alert thresholds: ${Object.entries(inv.alerts)
          .map(([k, v]) => `${code(k)} ${settingValue(v)}`)
          .join(', ')}.`,
      ),
    );
  return blocks;
}

function drillsSection(inv: Inventory): Block[] {
  const rows = inv.sources.map((s) => {
    const d = s.lastDrill;
    if (!d) return [code(s.name), 'never', '—', '—', '—', '—'];
    return [
      code(s.name),
      when(d.time),
      d.verdict === 'PASS' ? 'PASS' : '**FAIL**',
      d.rto ? objective(d.rto) : '—',
      d.rpo ? objective(d.rpo) : '—',
      d.repository ? `${code(d.repository)} ${shortId(d.snapshot!)}` : 'local history only',
    ];
  });
  return [
    heading(2, 'Last restore drills'),
    para(
      "A drill restores a snapshot into an isolated place, checks it against what was recorded at backup time, runs the source's smoke command and measures how long the restore took (RTO) and how old the data was (RPO).",
    ),
    table(['source', 'time', 'result', 'RTO measured', 'RPO measured', 'repository, snapshot'], rows),
  ];
}

function complianceSection(inv: Inventory): Block[] {
  const failed = inv.compliance.checks.filter((c) => c.status === 'fail');
  return [
    heading(2, 'Compliance when this pack was made'),
    para(
      failed.length
        ? `**NOT COMPLIANT:** ${failed.length} of ${inv.compliance.checks.length} checks failed (3-2-1 copies, media, offsite, encryption, max_age, drill recency). Re-check with ${code('lifeboat compliance')}.`
        : `**COMPLIANT:** all ${inv.compliance.checks.length} checks passed. Re-check with ${code('lifeboat compliance')}.`,
    ),
    table(
      ['source', 'check', 'result', 'reason'],
      inv.compliance.checks.map((c) => [code(c.source), c.check, c.status === 'pass' ? 'pass' : '**FAIL**', c.reason]),
    ),
  ];
}

/** When to make the pack again, who to call, and how to check the pack itself. */
export function maintenanceSections(files: string[]): Block[] {
  return [
    heading(2, 'Keep this pack up to date'),
    para(`Run ${code('lifeboat handover --out NEW-DIR')} again and replace every printed and archived copy:`),
    list([
      'after any password, key slot or recovery key change (`lifeboat key add|remove|passwd`);',
      'after any change of lifeboat.yaml: a new source, repository, job, retention or age recipient;',
      'after moving a repository (new disk, bucket, server or credentials file);',
      'after a failed drill has been fixed;',
      'and at least once a year, even when nothing changed: the snapshot ids and drill results here age.',
    ]),
    heading(2, 'Contacts (fill in by hand)'),
    table(
      ['role', 'name', 'phone / e-mail'],
      [
        ['Owner of the system', '', ''],
        ['Administrator / integrator', '', ''],
        ['Hosting and storage providers', '', ''],
        ['Keeper of the recovery key envelope', '', ''],
        ['Keeper of the offline age identity', '', ''],
      ],
    ),
    heading(2, 'What this pack holds'),
    list(files.map(code)),
    para(
      `${code('SHA256SUMS')} lists a SHA-256 of every other file: ${code('sha256sum -c SHA256SUMS')} in the pack's directory shows whether an archived copy is intact.`,
    ),
  ];
}
