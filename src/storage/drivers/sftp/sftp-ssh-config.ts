/**
 * The part of OpenSSH's client configuration (`~/.ssh/config`) that decides
 * where and as whom an SFTP repository logs in: `Host` blocks (patterns with
 * `*`, `?` and `!negation`), `HostName`, `User`, `Port`, `IdentityFile` and
 * `UserKnownHostsFile`. As in ssh, the first value found for a keyword wins
 * (IdentityFile accumulates), and `Match` blocks are not evaluated: their
 * settings are ignored. `Include` is followed (relative to ~/.ssh, with `*`
 * in the last path segment). Other keywords are ignored.
 *
 * @module
 */

import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface SshHostSettings {
  hostName?: string;
  user?: string;
  port?: number;
  /** In the order given, `~` and `%` tokens not yet expanded. */
  identityFiles: string[];
  /** The files of the first UserKnownHostsFile line. */
  userKnownHostsFiles?: string[];
}

interface Line {
  keyword: string;
  args: string[];
}

/** A config line's keyword (lower case) and arguments (`Key value`, `Key=value`, double quotes). */
function splitLine(raw: string): Line | undefined {
  const line = raw.trim();
  if (line === '' || line.startsWith('#')) return undefined;
  const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(line);
  if (!m) return { keyword: line.toLowerCase(), args: [] };
  const args: string[] = [];
  for (const a of m[2]!.matchAll(/"([^"]*)"|(\S+)/g)) args.push(a[1] ?? a[2]!);
  return { keyword: m[1]!.toLowerCase(), args };
}

function globMatches(pattern: string, name: string): boolean {
  const re = new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
  return re.test(name);
}

/** `Host` patterns against an alias: some positive pattern matches and no negated one does. */
export function hostPatternsMatch(patterns: string[], alias: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (globMatches(p.slice(1), alias)) return false;
    } else if (globMatches(p, alias)) matched = true;
  }
  return matched;
}

function expandHome(p: string, home: string): string {
  return p === '~' ? home : p.startsWith('~/') ? path.join(home, p.slice(2)) : p;
}

/** The lines of a config file with its Includes inlined (missing files read as empty; depth-limited as ssh does). */
async function readLines(file: string, home: string, depth = 0): Promise<Line[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const out: Line[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = splitLine(raw);
    if (!line) continue;
    if (line.keyword !== 'include') {
      out.push(line);
      continue;
    }
    if (depth >= 16) continue;
    for (const arg of line.args) {
      const pattern = path.resolve(path.join(home, '.ssh'), expandHome(arg, home));
      for (const f of await expandGlob(pattern)) out.push(...(await readLines(f, home, depth + 1)));
    }
  }
  return out;
}

async function expandGlob(pattern: string): Promise<string[]> {
  const base = path.basename(pattern);
  if (!/[*?]/.test(base)) return [pattern];
  const dir = path.dirname(pattern);
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  return names
    .filter((n) => globMatches(base, n))
    .sort()
    .map((n) => path.join(dir, n));
}

/** The settings for `alias` from config text already split into lines. */
function settingsFor(lines: Line[], alias: string): SshHostSettings {
  const s: SshHostSettings = { identityFiles: [] };
  let active = true; // lines before the first Host/Match apply to every host
  for (const { keyword, args } of lines) {
    if (keyword === 'host') {
      active = hostPatternsMatch(args, alias);
      continue;
    }
    if (keyword === 'match') {
      active = args.length === 1 && args[0]!.toLowerCase() === 'all';
      continue;
    }
    if (!active || args.length === 0) continue;
    switch (keyword) {
      case 'hostname':
        s.hostName ??= args[0];
        break;
      case 'user':
        s.user ??= args[0];
        break;
      case 'port':
        if (s.port === undefined && /^\d+$/.test(args[0]!)) s.port = Number(args[0]);
        break;
      case 'identityfile':
        if (args[0]!.toLowerCase() !== 'none') s.identityFiles.push(args[0]!);
        break;
      case 'userknownhostsfile':
        s.userKnownHostsFiles ??= args.filter((a) => a.toLowerCase() !== 'none');
        break;
    }
  }
  return s;
}

/** Parses config text (no Include) and returns the settings for `alias`. */
export function sshSettingsFromText(text: string, alias: string): SshHostSettings {
  return settingsFor(
    text.split(/\r?\n/).flatMap((l) => splitLine(l) ?? []),
    alias,
  );
}

/** The home directory ssh would use for `env`. */
export function sshHome(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

/** The settings for `alias` from `~/.ssh/config` (none when the file does not exist). */
export async function readSshSettings(alias: string, env: NodeJS.ProcessEnv): Promise<SshHostSettings> {
  const home = sshHome(env);
  return settingsFor(await readLines(path.join(home, '.ssh', 'config'), home), alias);
}

/**
 * A path from the config with `~` and the tokens ssh expands in IdentityFile
 * and UserKnownHostsFile: %d home, %h host, %p port, %r remote user, %u local
 * user, %n the name as given, %%. Relative paths are taken from the home
 * directory, as ssh does.
 */
export function expandSshPath(
  p: string,
  t: { home: string; host: string; port: number; user: string; alias: string },
): string {
  const localUser = (() => {
    try {
      return os.userInfo().username;
    } catch {
      return process.env.USER ?? '';
    }
  })();
  const tokens: Record<string, string> = {
    d: t.home,
    h: t.host,
    p: String(t.port),
    r: t.user,
    u: localUser,
    n: t.alias,
    '%': '%',
  };
  const expanded = expandHome(p, t.home).replace(/%(.)/g, (all, c: string) => tokens[c] ?? all);
  return path.resolve(t.home, expanded);
}
