import { callout, code, codeBlock, heading, list, para, table, type Block } from './document.js';
import { reachText, retentionText, secretText, settingValue } from './facts-text.js';
import type { Inventory, RepositoryFacts } from './inventory.js';

/** Step: the password or recovery key of every repository — where it is, never what it is. */
export function secretsSection(inv: Inventory): Block[] {
  const blocks: Block[] = [
    para(
      'Every repository is encrypted; nothing can be restored without its password or its recovery key. **Neither is written in this pack** unless it says so at the top. Where they are:',
    ),
    list(inv.repositories.map((r) => `${code(r.name)}: ${secretText(r.secret, r.name)}`)),
    para(
      `Each repository also has a **recovery key** (its master key), which opens it when every password is lost: the paper page printed with ${code('lifeboat key export --paper --repo NAME')}. Check that the page belongs to the repository: its ${code('fingerprint:')} line must equal the fingerprint below (and in ${code('keys.md')}). To use it, type its key lines into a file (mode 0600) and add ${code('--key-file FILE')} to every command.`,
    ),
    table(
      ['repository', 'id', 'key fingerprint', 'recovery key page'],
      inv.repositories.map((r) => [
        code(r.name),
        r.id ? code(r.id) : 'unknown (unreachable)',
        r.fingerprint ? code(r.fingerprint) : 'unknown (unreachable)',
        r.recoveryKeyFile
          ? `in this pack: ${code(r.recoveryKeyFile)}`
          : 'kept apart from this pack (where the owner keeps it)',
      ]),
    ),
  ];
  return blocks;
}

/** Step: where each repository is and how to reach it, with or without lifeboat.yaml. */
export function repositoriesSection(inv: Inventory): Block[] {
  const blocks: Block[] = [];
  for (const r of inv.repositories) {
    blocks.push(
      heading(
        3,
        `${code(r.name)} — ${r.storage}${r.location ? `, ${r.location}` : ''}${r.media ? `, ${r.media}` : ''}`,
      ),
    );
    if (!r.reachable) blocks.push(callout('warning', reachText(r)));
    const rows: string[][] = [
      ['url', code(r.url)],
      ['state', reachText(r)],
      ['retention', retentionText(r)],
      ...(r.requireMount
        ? [['removable', `must be mounted${r.mountPoint ? ` at ${code(r.mountPoint)}` : ''} before use`]]
        : []),
      ...Object.entries(r.access).map(([k, v]) => [code(k), settingValue(v)]),
    ];
    blocks.push(table(['setting', 'value'], rows));
    blocks.push(
      para(
        `List its snapshots with ${code(`lifeboat snapshots --repo ${r.name}`)}; check it with ${code(`lifeboat check --repo ${r.name}`)} (add ${code('--read-data')} to read and authenticate every byte).`,
      ),
    );
    blocks.push(
      para(
        'Without the original lifeboat.yaml, a file with just this repository reaches it (the files it names must exist on the restoring machine):',
      ),
      codeBlock(minimalConfig(r), 'yaml'),
    );
  }
  return blocks;
}

/** A lifeboat.yaml holding one repository: enough to list, check and restore its snapshots. */
export function minimalConfig(r: RepositoryFacts): string {
  const value = (v: string | boolean | string[]) => (typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  const lines = ['version: 1', 'repositories:', `  ${r.name}:`, `    url: ${value(r.url)}`];
  for (const [k, v] of Object.entries(r.access)) lines.push(`    ${k}: ${value(v)}`);
  if (r.secret.kind === 'password_file' || r.secret.kind === 'key_file')
    lines.push(`    ${r.secret.kind}: ${value(r.secret.where!)}`);
  else lines.push('    # the password: password_file: /path/to/file, or --key-file with the recovery key');
  return lines.join('\n');
}
