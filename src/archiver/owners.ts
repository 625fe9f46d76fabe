import { readFileSync } from 'node:fs';

/** uid/gid → names from /etc/passwd and /etc/group, read once. */
function readTable(file: string): Map<number, string> {
  const map = new Map<number, string>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (name && id !== undefined && /^\d+$/.test(id)) map.set(Number(id), name);
    }
  } catch {
    // no table: names are simply not recorded
  }
  return map;
}

let users: Map<number, string> | undefined;
let groups: Map<number, string> | undefined;

export function userName(uid: number): string | undefined {
  users ??= readTable('/etc/passwd');
  return users.get(uid);
}

export function groupName(gid: number): string | undefined {
  groups ??= readTable('/etc/group');
  return groups.get(gid);
}
