// Per-tool commands for the benchmark sequence. Every tool gets the same inputs:
//   repo     – empty directory path for the repository (does not exist yet)
//   data     – absolute path of the dataset copy to back up
//   restore  – empty directory to restore into; restored files land at restore + data
//   cache    – tool-specific cache directory under <work>/cache/<tool>
// A command is { cmd, args, cwd? }; env is shared by all commands of a tool.

import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

export const TOOL_NAMES = ['lifeboat', 'restic', 'borg'];
export const PASSWORD = 'bench-password-123';
export const BORG_COMPRESSION = process.env.BORG_COMPRESSION || 'zstd,3';

/** Absolute path of an executable found on PATH, or null. */
export function which(name) {
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

function firstLine(cmd, args, env) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, timeout: 15000 });
  if (r.status !== 0) return null;
  return (r.stdout || r.stderr || '').trim().split('\n')[0] || null;
}

/**
 * Describe a tool: { name, available, reason, binary, version, env(cacheDir), commands(ctx) }.
 * `available: false` comes with a human-readable `reason` ("not built", "not installed").
 */
export function describeTool(name, { repoRoot }) {
  if (name === 'lifeboat') {
    const main = path.join(repoRoot, 'dist', 'cli', 'main.js');
    const base = { name, binary: main, installHint: 'npm run build' };
    if (!fs.existsSync(main)) {
      return {
        ...base,
        available: false,
        reason: `not built: ${path.relative(process.cwd(), main) || main} is missing (run \`npm run build\`)`,
      };
    }
    const node = process.execPath;
    return {
      ...base,
      available: true,
      version: firstLine(node, [main, '--version']) ?? 'unknown',
      env: (cache) => ({ LIFEBOAT_PASSWORD: PASSWORD, LIFEBOAT_CACHE_DIR: cache }),
      commands: ({ repo, data, restore }) => ({
        init: { cmd: node, args: [main, 'init', '--repo', repo] },
        backup: (n) => ({
          cmd: node,
          args: [main, 'backup', '--repo', repo, '--host', 'bench', '--tag', `bench-${n}`, data],
        }),
        restore: { cmd: node, args: [main, 'restore', 'latest', '--repo', repo, '--target', restore] },
      }),
    };
  }
  if (name === 'restic') {
    const bin = which('restic');
    const base = { name, binary: bin, installHint: 'apt-get install -y restic' };
    if (!bin)
      return { ...base, available: false, reason: 'not installed: restic is not on PATH (apt-get install -y restic)' };
    return {
      ...base,
      available: true,
      version: firstLine(bin, ['version']) ?? 'unknown',
      env: (cache) => ({ RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cache }),
      commands: ({ repo, data, restore }) => ({
        init: { cmd: bin, args: ['-r', repo, 'init'] },
        backup: (n) => ({ cmd: bin, args: ['-r', repo, 'backup', '--host', 'bench', '--tag', `bench-${n}`, data] }),
        restore: { cmd: bin, args: ['-r', repo, 'restore', 'latest', '--target', restore] },
      }),
    };
  }
  if (name === 'borg') {
    const bin = which('borg');
    const base = { name, binary: bin, installHint: 'apt-get install -y borgbackup' };
    if (!bin)
      return {
        ...base,
        available: false,
        reason: 'not installed: borg is not on PATH (apt-get install -y borgbackup)',
      };
    return {
      ...base,
      available: true,
      version: firstLine(bin, ['--version']) ?? 'unknown',
      env: (cache) => ({
        BORG_PASSPHRASE: PASSWORD,
        BORG_BASE_DIR: cache,
        BORG_RELOCATED_REPO_ACCESS_IS_OK: 'yes',
      }),
      commands: ({ repo, data, restore }) => ({
        init: { cmd: bin, args: ['init', '--encryption=repokey', repo] },
        backup: (n) => ({
          cmd: bin,
          args: ['create', '--stats', '--compression', BORG_COMPRESSION, `${repo}::snap${n}`, data],
        }),
        // borg extracts paths relative to the cwd (leading "/" stripped): lands at restore + data
        restore: { cmd: bin, args: ['extract', `${repo}::snap3`], cwd: restore },
      }),
    };
  }
  throw new Error(`unknown tool ${JSON.stringify(name)} (known: ${TOOL_NAMES.join(', ')})`);
}
