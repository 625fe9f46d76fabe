import { ErrorCode, LifeboatError } from '../errors/index.js';
import type { ObjectInfo, Storage } from '../storage/contract.js';

/**
 * A listing a command may delete on (prune, forget). A backend can answer a listing short without
 * saying so (a page cut off with `IsTruncated=false`, a directory read that
 * drops entries), and a short listing reads as "nothing references this".
 * So each prefix is listed twice and the two must agree: nothing that the
 * first listing showed may be missing from the second (no one removes objects
 * under `snapshots/`, `index/` or `data/` while prune holds a lock), and under
 * the exclusive lock nothing may appear either (no one writes). A name listed
 * twice in one listing counts once; twice with different sizes is a refusal.
 * This catches listings that are short by chance; one that is short the same
 * way every time is caught by the cross-checks against what earlier runs saw
 * (prune's `snapshot-guard.ts`) and what the index knows (prune's `inventory.ts`).
 */
export async function listConsistently(
  storage: Storage,
  prefix: string,
  exclusive: boolean,
  operation = 'prune',
): Promise<ObjectInfo[]> {
  const first = unique(await storage.list(prefix), prefix, operation);
  const second = unique(await storage.list(prefix), prefix, operation);
  const lost = [...first.keys()].filter((name) => !second.has(name));
  const gained = exclusive ? [...second.keys()].filter((name) => !first.has(name)) : [];
  const resized = [...first.values()]
    .filter((o) => second.has(o.name) && second.get(o.name)!.size !== o.size)
    .map((o) => o.name);
  const odd = [...lost, ...gained, ...resized];
  if (odd.length > 0) {
    const parts = [
      describe(lost, 'missing from the second'),
      describe(gained, 'only in the second'),
      describe(resized, 'with another size'),
    ].filter(Boolean);
    throw new LifeboatError(
      ErrorCode.Refused,
      `${operation} refused: two listings of ${prefix} disagree (${parts.join('; ')}); nothing was deleted`,
      {
        hint: 'the storage returns incomplete listings, so no deletion can be trusted; check the endpoint or server, then run `lifeboat check` and try again',
        context: { prefix, lost, gained, resized },
      },
    );
  }
  return [...second.values()];
}

function unique(list: ObjectInfo[], prefix: string, operation: string): Map<string, ObjectInfo> {
  const out = new Map<string, ObjectInfo>();
  for (const o of list) {
    const seen = out.get(o.name);
    if (seen && seen.size !== o.size) {
      throw new LifeboatError(
        ErrorCode.Refused,
        `${operation} refused: the listing of ${prefix} names ${o.name} twice, with sizes ${seen.size} and ${o.size}; nothing was deleted`,
        {
          hint: 'the storage returns inconsistent listings, so no deletion can be trusted; check the endpoint or server, then run `lifeboat check` and try again',
          context: { prefix, object: o.name },
        },
      );
    }
    out.set(o.name, o);
  }
  return out;
}

function describe(names: string[], what: string): string {
  if (names.length === 0) return '';
  const shown = names.slice(0, 3).join(', ') + (names.length > 3 ? `, … (${names.length} in all)` : '');
  return `${names.length} ${what}: ${shown}`;
}
