import { formatBytes, formatTime } from '../util/format.js';
import type { Inventory } from './inventory.js';
import { DEFAULT_RESTORE_ROOT, shellWord } from './restore-plan.js';

/**
 * restore-commands.sh: the runbook's restore commands as a POSIX sh script.
 * Run without an argument it only prints what it can restore (a script of
 * restore commands is easily run by mistake, or "just to see"); with
 * `SOURCE [REPOSITORY]` it runs that one restore. The commands are the
 * runbook's, character for character.
 */
export function renderRestoreScript(inv: Inventory): string {
  const g = inv.generated;
  const lines: string[] = [
    '#!/bin/sh',
    `# Lifeboat restore commands for ${g.host}`,
    `# Generated ${formatTime(g.time)} by ${g.tool} from ${g.config}.`,
    '#',
    '# Safety: run without an argument, this script restores nothing. It lists',
    '# what it can restore and exits 2, because a file of restore commands is',
    '# easily run by mistake or "just to see". Asked to restore, every command',
    '# writes into a new place under $RESTORE_ROOT, or into a new database, and',
    '# never passes --force: nothing in use is overwritten. Swapping the checked',
    '# copy into place is a separate step (see RUNBOOK.md).',
    '#',
    '# Usage: sh restore-commands.sh                      list what can be restored',
    '#        sh restore-commands.sh SOURCE [REPOSITORY]  restore the newest snapshot of SOURCE',
    '#                                                    (default: the first repository listed)',
    `# Environment: LIFEBOAT_CONFIG (default ${g.config}),`,
    `#              RESTORE_ROOT (default ${DEFAULT_RESTORE_ROOT}),`,
    '#              AGE_IDENTITY (the offline age identity, for sealed sources only).',
    '# The repository password comes from the configuration (password_file), from',
    '# LIFEBOAT_PASSWORD_FILE, or use LIFEBOAT_KEY_FILE with the recovery key.',
    'set -eu',
    '',
    `if [ -z "\${LIFEBOAT_CONFIG:-}" ]; then LIFEBOAT_CONFIG=${shellWord(g.config)}; fi`,
    `if [ -z "\${RESTORE_ROOT:-}" ]; then RESTORE_ROOT=${shellWord(DEFAULT_RESTORE_ROOT)}; fi`,
    'export LIFEBOAT_CONFIG RESTORE_ROOT',
    '',
  ];
  const cases: string[] = [];
  const usage: string[] = [];
  inv.sources.forEach((s, i) => {
    lines.push(
      `# --- source ${s.name} (${s.type})${s.sealedTo ? `, sealed with age to ${s.sealedTo.join(', ')}` : ''}`,
    );
    if (s.restore.length === 0) {
      lines.push('# No snapshot was found in any reachable repository: nothing to restore.', '');
      usage.push(`  ${s.name}  (no snapshot found)`);
      return;
    }
    s.restore.forEach((r, j) => {
      const copy = s.copies[j]!;
      const fn = `restore_${s.name.replace(/[^A-Za-z0-9_]/g, '_')}_${i + 1}_${j + 1}`;
      lines.push(
        `# From repository ${r.repository}: snapshot ${r.snapshot.slice(0, 8)} of ${formatTime(copy.snapshot.time)}, host ${copy.snapshot.host}, ${copy.snapshot.files} files, ${formatBytes(copy.snapshot.bytes)}.`,
        `# Check afterwards: ${r.verify}`,
        `#             or: ${r.drill}`,
        `${fn}() {`,
        ...r.needs.map((v) => `  : "\${${v}:?set ${v} first (see RUNBOOK.md)}"`),
        `  echo ${shellWord(`restoring ${s.name} from ${r.repository}, snapshot ${r.snapshot.slice(0, 8)}`)} >&2`,
        `  ${r.command}`,
        '}',
        '',
      );
      cases.push(`  ${j === 0 ? `${s.name}:|` : ''}${s.name}:${r.repository}) ${fn} ;;`);
      usage.push(
        `  ${s.name} ${r.repository}${j === 0 ? '  (default)' : ''}  snapshot ${r.snapshot.slice(0, 8)} of ${formatTime(copy.snapshot.time)}${r.needs.length ? `  needs ${r.needs.join(', ')}` : ''}`,
      );
    });
  });
  lines.push(
    'usage() {',
    "  cat >&2 <<'USAGE'",
    'usage: sh restore-commands.sh SOURCE [REPOSITORY]',
    'Restores the newest snapshot of SOURCE into $RESTORE_ROOT (or a new database).',
    'What this pack can restore:',
    ...usage,
    'USAGE',
    '}',
    '',
    'case "${1:-}:${2:-}" in',
    ...cases,
    '  *) usage; exit 2 ;;',
    'esac',
    '',
  );
  return lines.join('\n');
}
