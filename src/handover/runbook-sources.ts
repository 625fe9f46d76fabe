import { callout, code, codeBlock, heading, list, para, table, type Block } from './document.js';
import { drillText, settingValue, shortId, size, when } from './facts-text.js';
import type { SourceFacts } from './inventory.js';

/** The runbook's section for one source: what it is, where it is, how to restore and check it. */
export function sourceSection(s: SourceFacts): Block[] {
  const blocks: Block[] = [heading(3, `${code(s.name)} (${s.type})`)];
  const settings: string[][] = [
    ['RPO target', s.rpo ? code(s.rpo) : 'not set (compliance assumes 36h)'],
    ['RTO target', s.rto ? code(s.rto) : 'not set'],
    ...Object.entries(s.settings).map(([k, v]) => [code(k), settingValue(v)]),
    ['jobs', s.jobs.length ? s.jobs.map(code).join(', ') : 'none (backed up only when asked)'],
  ];
  blocks.push(table(['setting', 'value'], settings));
  if (s.sealedTo) {
    blocks.push(
      callout(
        'warning',
        `This source is **sealed with age** to ${s.sealedTo.map(code).join(', ')}. Its data cannot be read without the offline age identity (${code('AGE-SECRET-KEY-1…')}) of one of these recipients. The identity is not in the repositories, not on the backed-up host and not in this pack: it is wherever the owner keeps offline keys. Give its file as ${code('$AGE_IDENTITY')}.`,
      ),
    );
  }
  if (s.copies.length === 0) {
    blocks.push(
      callout(
        'warning',
        'No snapshot of this source was found in any reachable repository: it cannot be restored from what this pack lists.',
      ),
    );
  } else {
    blocks.push(
      table(
        ['repository', 'newest snapshot', 'time', 'host', 'size', 'files', 'snapshots'],
        s.copies.map((c) => [
          code(c.repository),
          shortId(c.snapshot.id),
          when(c.snapshot.time),
          code(c.snapshot.host),
          size(c.snapshot.bytes),
          String(c.snapshot.files),
          String(c.count),
        ]),
      ),
    );
    const [first, ...others] = s.restore;
    blocks.push(
      para(
        `**Restore** the newest snapshot from ${code(first!.repository)} (into a new place; nothing is overwritten):`,
      ),
      codeBlock(first!.command),
    );
    if (others.length)
      blocks.push(para('Or from another repository:'), codeBlock(others.map((r) => r.command).join('\n')));
    blocks.push(para('**Then:**'), list(s.afterRestore));
    blocks.push(
      para('**Check:**'),
      list([
        'The restore command itself measures the restored copy the way the original was measured at backup time and prints one `ok`/`FAIL` line per check; any difference makes it exit 1.',
        `Verify the snapshot in a scratch place: ${code(first!.verify)}`,
        `A full drill (restore, checks, smoke command, measured RTO/RPO, report): ${code(first!.drill)}`,
        `Newer snapshots made after this pack: ${code(`lifeboat snapshots --repo ${first!.repository} --source ${s.name}`)}; restore one with ${code(`latest --source ${s.name}`)} in place of the id.`,
      ]),
    );
  }
  if (s.tools.length) blocks.push(para(`**Needs:** ${s.tools.join('; ')}.`));
  blocks.push(
    para(
      `**Last drill:** ${drillText(s.lastDrill)}${s.lastDrill?.reasons.length ? ` — ${s.lastDrill.reasons.join('; ')}` : ''}.`,
    ),
  );
  return blocks;
}
