import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.js';

/**
 * docs/cli.md against the built CLI's own help: every command and
 * subcommand that `--help` lists has its place in the page, and every flag
 * a command's `--help` lists is named in that command's section (global
 * options in "Global options"), and the contents line links every command.
 * The commands are discovered from the help itself, so a command or flag
 * added later is held to the same rule.
 */
interface HelpPage {
  options: string[];
  commands: string[];
}

/** The flags and subcommands of one `--help` page; only terms at the two-space indent count (wrapped descriptions sit deeper). */
function parseHelp(text: string): HelpPage {
  const page: HelpPage = { options: [], commands: [] };
  let section: 'options' | 'commands' | undefined;
  for (const line of text.split('\n')) {
    if (/^\S/.test(line)) {
      section = /^Options:/.test(line) ? 'options' : /^Commands:/.test(line) ? 'commands' : undefined;
      continue;
    }
    const term = /^ {2}(\S.*?)(?: {2,}|$)/.exec(line)?.[1];
    if (!term || !section) continue;
    if (section === 'options') {
      const long = /--[a-z0-9][\w-]*/i.exec(term)?.[0];
      if (long && long !== '--help') page.options.push(long);
    } else {
      const name = term.split(/\s/)[0]!;
      if (name !== 'help') page.commands.push(name);
    }
  }
  return page;
}

async function help(args: string[]): Promise<HelpPage> {
  const r = await runCli([...args, '--help'], { env: { LIFEBOAT_CONFIG: undefined } });
  expect(r.code, `lifeboat ${args.join(' ')} --help: ${r.stderr}`).toBe(0);
  return parseHelp(r.stdout);
}

/** The text of docs/cli.md under the heading `### name` (or `## name`), up to the next heading of that level or above. */
function section(doc: string, heading: RegExp): string | undefined {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => heading.test(l));
  if (start === -1) return undefined;
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start, end === -1 ? undefined : end).join('\n');
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('docs/cli.md covers every command and flag the CLI lists', () => {
  it('names every command, subcommand and flag of --help in its section', { timeout: 180_000 }, async () => {
    const doc = readFileSync(path.join(ROOT, 'docs', 'cli.md'), 'utf8');
    const missing: string[] = [];
    const root = await help([]);
    expect(root.commands.length, 'commands parsed from lifeboat --help').toBeGreaterThan(10);

    const globals = section(doc, /^## Global options/) ?? '';
    for (const flag of root.options)
      if (!new RegExp(`${escape(flag)}\\b`).test(globals)) missing.push(`global option ${flag} (## Global options)`);

    let checked = 0;
    let flags = 0;
    const visit = async (words: string[], text: string) => {
      const page = await help(words);
      checked++;
      flags += page.options.length;
      for (const flag of page.options)
        if (!new RegExp(`${escape(flag)}(?![\\w-])`).test(text)) missing.push(`${words.join(' ')} ${flag}`);
      for (const sub of page.commands) {
        const full = [...words, sub];
        // A subcommand is documented by name in its command's section: "key add", `lifeboat wal check`, or a heading of its own.
        const own = section(doc, new RegExp(`^#{3,} (lifeboat )?${escape(full.join(' '))}\\b`));
        if (!own && !new RegExp(`\\b${escape(full.join(' '))}\\b`).test(text)) missing.push(full.join(' '));
        await visit(full, own ?? text);
      }
    };
    const contents = /^- Commands:[^]*?(?=^- )/m.exec(doc)?.[0] ?? '';
    for (const command of root.commands) {
      if (!contents.includes(`[${command}](#${command})`)) missing.push(`${command} (in the contents' Commands line)`);
      const text = section(doc, new RegExp(`^### ${escape(command)}\\s*$`));
      if (!text) {
        missing.push(`${command} (no "### ${command}" section)`);
        continue;
      }
      await visit([command], text);
    }
    // The help was read: more pages than top-level commands (there are subcommands), and many flags.
    expect(checked).toBeGreaterThan(root.commands.length);
    expect(flags).toBeGreaterThan(100);
    expect(missing, `missing from docs/cli.md:\n${missing.join('\n')}`).toEqual([]);
  });

  it('the parser reads commander help as the CLI prints it', () => {
    const page = parseHelp(
      [
        'Usage: lifeboat key [options] [command]',
        '',
        'Options:',
        '  --repo-url <url>   a flag',
        '  -n, --dry-run      show what would be done; words wrap onto',
        '                     --not-a-flag lines indented deeper',
        '  --no-progress      a negation',
        '  -h, --help         display help for command',
        '',
        'Commands:',
        '  add [options]      add a key',
        '  list               list keys',
        '  help [command]     display help for command',
      ].join('\n'),
    );
    expect(page).toEqual({ options: ['--repo-url', '--dry-run', '--no-progress'], commands: ['add', 'list'] });
  });
});
