// Targets of bench/remote.mjs: where a repository lives and the commands that use it.
//
//   lifeboat: local    a directory                       (lifeboat.yaml `url: /path`)
//             sftp     the throwaway sshd, root + key    (`url: sftp://root@127.0.0.1:PORT/path`)
//             s3       the throwaway s3rver, path style  (`url: s3://lifeboat-bench/repo`)
//   restic:   local, sftp (`-o sftp.command="ssh … -s sftp"` to the same sshd), s3 (the same s3rver,
//             bucket `restic-bench`, `-o s3.bucket-lookup=path`) — optional comparison.
//
// Lifeboat runs as `node dist/cli/main.js --config <work>/lifeboat.yaml <cmd> --repo <target>`,
// configured like test/e2e/sftp-cli.test.ts and test/e2e/s3.test.ts. Each target returns
// { name, tool, label, env, commands: { init, backup, restore }, repoBytes(), restoredPath }.

import fs from 'node:fs';
import path from 'node:path';
import { treeBytes } from './tree-compare.mjs';
import { s3rverObjectBytes } from './remote-servers.mjs';

export const PASSWORD = 'bench-password-123';
export const LIFEBOAT_TARGETS = ['local', 'sftp', 's3'];
export const RESTIC_TARGETS = ['restic-local', 'restic-sftp', 'restic-s3'];
export const S3_BUCKET = 'lifeboat-bench';
/** restic's own bucket on the same s3rver, so each repository's size is measured alone. */
export const RESTIC_S3_BUCKET = 'restic-bench';

/** Variables that would change how the CLIs authenticate; removed from the children's environment. */
const SCRUB = [
  'LIFEBOAT_PASSWORD',
  'LIFEBOAT_PASSWORD_FILE',
  'LIFEBOAT_PASSWORD_COMMAND',
  'LIFEBOAT_KEY_FILE',
  'LIFEBOAT_REPOSITORY',
  'LIFEBOAT_CONFIG',
  'LIFEBOAT_SFTP_PASSWORD',
  'SSH_AUTH_SOCK',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_PROFILE',
  'AWS_ENDPOINT_URL',
  'AWS_ENDPOINT_URL_S3',
  'RESTIC_PASSWORD',
  'RESTIC_PASSWORD_FILE',
  'RESTIC_REPOSITORY',
];

export function baseEnv() {
  const env = { ...process.env };
  for (const k of SCRUB) delete env[k];
  return env;
}

/**
 * Write <work>/lifeboat.yaml (and the repository password file) for the three Lifeboat targets.
 * `repos` = { local, sftp } directories; the S3 repository is inside s3rver's data directory.
 */
export function writeLifeboatConfig({ work, repos, sshd, s3 }) {
  const passwordFile = path.join(work, 'repo.pass');
  fs.writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  const config = path.join(work, 'lifeboat.yaml');
  const lines = [
    'version: 1',
    'repositories:',
    '  local:',
    `    url: ${repos.local}`,
    `    password_file: ${passwordFile}`,
  ];
  if (sshd) {
    lines.push(
      '  sftp:',
      `    url: ${sshd.url(repos.sftp)}`,
      `    identity_file: ${sshd.clientKey}`,
      `    known_hosts: ${sshd.knownHosts}`,
      `    password_file: ${passwordFile}`,
    );
  }
  if (s3) {
    lines.push(
      '  s3:',
      `    url: s3://${S3_BUCKET}/repo`,
      `    endpoint: ${s3.endpoint}`,
      '    region: us-east-1',
      '    path_style: true',
      `    credentials_file: ${s3.credentialsFile}`,
      `    password_file: ${passwordFile}`,
    );
  }
  fs.writeFileSync(config, `${lines.join('\n')}\n`);
  return config;
}

/** A Lifeboat target. */
export function lifeboatTarget(name, { main, config, cache, data, restore, repoDir, s3 }) {
  const node = process.execPath;
  const lb = (...args) => ({ cmd: node, args: [main, '--config', config, '--no-progress', ...args] });
  return {
    name,
    tool: 'lifeboat',
    env: { ...baseEnv(), LIFEBOAT_CACHE_DIR: cache },
    commands: {
      init: lb('init', '--repo', name),
      backup: lb('backup', '--repo', name, '--host', 'bench', data),
      restore: lb('restore', 'latest', '--repo', name, '--target', restore),
    },
    repoBytes: async () => (name === 's3' ? s3rverObjectBytes(path.join(s3.dataDir, S3_BUCKET)) : treeBytes(repoDir)),
    restoredPath: path.join(restore, data),
  };
}

/** A restic target (local directory, the same sshd over SFTP, or the same s3rver). */
export function resticTarget(name, { bin, cache, data, restore, repoDir, sshd, s3 }) {
  let repo = repoDir;
  const extra = [];
  const credentials = {};
  if (name === 'restic-s3') {
    repo = `s3:${s3.endpoint}/${RESTIC_S3_BUCKET}/repo`;
    extra.push('-o', 's3.bucket-lookup=path', '-o', 's3.region=us-east-1');
    // restic takes S3 credentials only from the environment (or an AWS profile).
    credentials.AWS_ACCESS_KEY_ID = s3.accessKeyId;
    credentials.AWS_SECRET_ACCESS_KEY = s3.secretAccessKey;
  }
  if (name === 'restic-sftp') {
    repo = `sftp:root@127.0.0.1:${repoDir}`;
    const ssh = [
      'ssh',
      '-F',
      '/dev/null',
      '-i',
      sshd.clientKey,
      '-p',
      String(sshd.port),
      '-o',
      `UserKnownHostsFile=${sshd.knownHosts}`,
      '-o',
      'StrictHostKeyChecking=yes',
      '-o',
      'BatchMode=yes',
      'root@127.0.0.1',
      '-s',
      'sftp',
    ].join(' ');
    extra.push('-o', `sftp.command=${ssh}`);
  }
  const r = (...args) => ({ cmd: bin, args: ['-r', repo, ...extra, ...args] });
  return {
    name,
    tool: 'restic',
    env: { ...baseEnv(), ...credentials, RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cache },
    commands: {
      init: r('init'),
      backup: r('backup', '--host', 'bench', data),
      restore: r('restore', 'latest', '--target', restore),
    },
    repoBytes: async () =>
      name === 'restic-s3' ? s3rverObjectBytes(path.join(s3.dataDir, RESTIC_S3_BUCKET)) : treeBytes(repoDir),
    restoredPath: path.join(restore, data),
  };
}
