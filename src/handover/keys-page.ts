import { callout, code, heading, para, table, type Block } from './document.js';
import { when } from './facts-text.js';
import type { Inventory } from './inventory.js';

/**
 * keys.md: per repository its id, the fingerprint of its master key and its
 * key slots — enough to tell whether a recovery key page or a key slot is the
 * right one, and nothing that could open anything.
 */
export function keysBlocks(inv: Inventory): Block[] {
  const blocks: Block[] = [
    heading(1, `Repository keys — ${inv.generated.host}`),
    para(
      `Made by ${code(inv.generated.tool)} on ${when(inv.generated.time)}. A repository's **fingerprint** is derived from its master key: the ${code('fingerprint:')} line of its recovery key page (${code('lifeboat key export --paper')}) and ${code('lifeboat key list')} must show the same value. A **key slot** lets one password open the repository; this page lists them without any key material.`,
    ),
  ];
  for (const r of inv.repositories) {
    blocks.push(heading(2, code(r.name)));
    if (!r.reachable) {
      blocks.push(
        callout(
          'warning',
          `Unreachable when this pack was made, so its id, fingerprint and key slots are unknown: ${r.error ?? 'unknown error'}`,
        ),
      );
      continue;
    }
    blocks.push(
      table(
        ['', ''],
        [
          ['repository id', code(r.id!)],
          ['master key fingerprint', code(r.fingerprint!)],
          ['recovery key page', r.recoveryKeyFile ? `in this pack: ${code(r.recoveryKeyFile)}` : 'not in this pack'],
        ],
      ),
      table(
        ['key slot', 'created', 'host', 'user', 'label', 'note'],
        (r.keys ?? []).map((k) => [
          code(k.id.slice(0, 16)),
          k.createdAt ? when(k.createdAt) : '—',
          k.host ? code(k.host) : '—',
          k.username ? code(k.username) : '—',
          k.label ? code(k.label) : '—',
          [k.current ? 'opened the repository for this pack' : '', k.readable ? '' : '**DAMAGED**']
            .filter(Boolean)
            .join('; ') || '—',
        ]),
      ),
    );
  }
  return blocks;
}
