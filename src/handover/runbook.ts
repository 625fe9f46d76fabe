import { callout, code, codeBlock, heading, list, para, table, type Block } from './document.js';
import { when } from './facts-text.js';
import type { Inventory } from './inventory.js';
import { DEFAULT_RESTORE_ROOT, shellWord } from './restore-plan.js';
import { maintenanceSections, referenceSections } from './runbook-reference.js';
import { repositoriesSection, secretsSection } from './runbook-repositories.js';
import { sourceSection } from './runbook-sources.js';

export function runbookTitle(inv: Inventory): string {
  return `Lifeboat recovery runbook — ${inv.generated.host}`;
}

/** RUNBOOK.md and RUNBOOK.html: the step-by-step recovery of every source, then the reference. */
export function runbookBlocks(inv: Inventory, files: string[]): Block[] {
  const g = inv.generated;
  const sealed = inv.sources.some((s) => s.sealedTo);
  const perDatabase = inv.sources.some((s) => s.restore.some((r) => r.needs.includes('DATABASE')));
  const perVolume = inv.sources.some((s) => s.restore.some((r) => r.needs.includes('VOLUME')));
  return [
    heading(1, runbookTitle(inv)),
    para(
      `This is the **doomsday pack** of ${code(g.host)}: what another administrator, or the owner, needs to get this system's data back with Lifeboat when the people who set it up are not there. It was made by ${code('lifeboat handover')} from ${code(g.config)} and from the repositories themselves: every snapshot, key fingerprint and drill result below was read from them at the time shown.`,
    ),
    table(
      ['generated', ''],
      [
        ['time', when(g.time)],
        ['host', code(g.host)],
        ['user', code(g.user)],
        ['tool', code(g.tool)],
        ['configuration', code(g.config)],
      ],
    ),
    inv.holdsSecret
      ? callout(
          'warning',
          `**This pack holds a secret.** The recovery key page(s) ${inv.repositories
            .filter((r) => r.recoveryKeyFile)
            .map((r) => code(r.recoveryKeyFile!))
            .join(
              ', ',
            )} open every backup in their repository, whatever the passwords. Seal the pack: print it and keep it in a sealed envelope in a safe, or on an encrypted medium kept offline. Delete the files from this machine once sealed. Never store it next to the backups or in a cloud drive.`,
        )
      : callout(
          'info',
          'This pack holds **no secret**: no password, no key, no credentials, no token. It says where they are kept. Whoever reads it learns how the backups are organised, but cannot open them.',
        ),
    ...(inv.warnings.length
      ? [callout('warning', 'Problems found while this pack was made:'), list(inv.warnings)]
      : []),
    heading(2, 'At a glance'),
    table(
      ['source', 'type', 'RPO / RTO', 'newest snapshot', 'copies in', 'last drill'],
      inv.sources.map((s) => {
        const newest = s.copies
          .map((c) => c.snapshot.time)
          .sort()
          .at(-1);
        return [
          code(s.name),
          s.type,
          `${s.rpo ?? '—'} / ${s.rto ?? '—'}`,
          newest ? when(newest) : '**none**',
          s.copies.map((c) => code(c.repository)).join(', ') || '**none**',
          s.lastDrill ? `${s.lastDrill.verdict} ${when(s.lastDrill.time)}` : 'never',
        ];
      }),
    ),
    heading(2, 'Step 1 — Before you start'),
    list([
      `Every restore command in this pack writes into a **new place** (a directory under ${code('$RESTORE_ROOT')} or a new database) and never passes ${code('--force')}: nothing in use is overwritten. Putting the checked copy in place is a separate step, described for each source.`,
      'Keep a log of each command and its time: it is the incident report, and it measures the real recovery time.',
      'Restore the sources the others depend on first (secrets and configuration, then databases, then the rest).',
    ]),
    heading(2, 'Step 2 — Install Lifeboat'),
    para(
      `On the machine that restores (Linux, Node.js 20 or newer), install Lifeboat ${code(g.tool.replace(/^lifeboat /, ''))} or newer (a newer version reads the same repositories): from its source, ${code('npm ci && npm run build && npm link')}. Check with ${code('lifeboat --version')}.`,
    ),
    ...toolsList(inv),
    heading(2, 'Step 3 — Get the repository password or recovery key'),
    ...secretsSection(inv),
    heading(2, 'Step 4 — Reach the repositories'),
    ...repositoriesSection(inv),
    heading(2, 'Step 5 — Prepare the shell'),
    para(
      `Every command below uses these variables. ${code('restore-commands.sh')} in this pack holds the same commands: ${code('sh restore-commands.sh')} lists them, ${code('sh restore-commands.sh SOURCE [REPOSITORY]')} runs one.`,
    ),
    codeBlock(
      [
        `export LIFEBOAT_CONFIG=${shellWord(g.config)}   # the configuration (or one rebuilt as in step 4)`,
        `export RESTORE_ROOT=${DEFAULT_RESTORE_ROOT}   # a new, empty place; never the live system`,
        ...(sealed ? ['export AGE_IDENTITY=/path/to/offline-age-identity.txt   # only for sealed sources'] : []),
        ...(perDatabase
          ? [
              'export DATABASE=app   # sources of every database of a server: the one to restore (its restore command names them all)',
            ]
          : []),
        ...(perVolume
          ? [
              'export VOLUME=app_data   # docker sources: the volume to restore (`lifeboat snapshots --json` lists them)',
            ]
          : []),
      ].join('\n'),
    ),
    heading(2, 'Step 6 — Restore, source by source'),
    ...(inv.sources.length ? inv.sources.flatMap(sourceSection) : [para('No sources are configured.')]),
    heading(2, 'Step 7 — Check the whole result'),
    list([
      ...inv.repositories.map(
        (r) =>
          `${code(`lifeboat check --repo ${r.name} --read-data`)}: reads and authenticates every byte of ${code(r.name)}.`,
      ),
      `${code('lifeboat drill --repo REPO')}: a restore drill of every source from that repository, with a report.`,
      `${code('lifeboat compliance')}: 3-2-1 copies, media, offsite copy and drill recency per source.`,
      'Start the applications on the restored data and check them the way their users would.',
    ]),
    ...referenceSections(inv),
    ...maintenanceSections(files),
  ];
}

function toolsList(inv: Inventory): Block[] {
  const tools = new Map<string, string[]>();
  for (const s of inv.sources) for (const t of s.tools) tools.set(t, [...(tools.get(t) ?? []), s.name]);
  if (tools.size === 0) return [];
  return [
    para('The sources also need:'),
    list([...tools].map(([t, names]) => `${t} — for ${names.map(code).join(', ')}`)),
  ];
}
