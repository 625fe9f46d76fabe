#!/usr/bin/env node
// Backup throughput through the repository server (`serve-repository`, lifeboat+http:// on
// loopback, append token given by `token_file`) next to a local directory and SFTP (a throwaway
// sshd on loopback, when sshd is installed), on the same generated data, one cold repository each.
// usage: node bench/repo-server.mjs [--mb N] [--work DIR]   (after `npx tsc -p tsconfig.build.json`)
// Prints one line per target and the load average; the machine may be shared: say so with figures.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startSshd, haveSshd } from './lib/remote-servers.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(root, 'dist/cli/main.js');
const { values } = parseArgs({ options: { mb: { type: 'string', default: '128' }, work: { type: 'string' } } });
const work = values.work ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lifeboat-bench-server-'));
const data = path.join(work, 'data');
const env = { ...process.env, LIFEBOAT_PASSWORD: 'bench-password-123', LIFEBOAT_CACHE_DIR: path.join(work, 'cache') };
for (const k of ['LIFEBOAT_SERVER_TOKEN_FILE', 'LIFEBOAT_SERVER_TOKEN', 'LIFEBOAT_PASSWORD_FILE']) delete env[k];
const cli = (args, extra = {}) => {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: { ...env, ...extra }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`lifeboat ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};

// Data: 3/4 incompressible files, 1/4 text-like, in 4 MB files (a deterministic generator).
fs.mkdirSync(data, { recursive: true });
let x = 42;
const total = Number(values.mb) * 1024 * 1024;
for (let i = 0; i * 4 * 1024 * 1024 < total; i++) {
  const buf = Buffer.alloc(4 * 1024 * 1024);
  for (let j = 0; j < buf.length; j += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    buf.writeUInt32LE(i % 4 === 3 ? 0x61626364 + (x % 7) : x, j);
  }
  fs.writeFileSync(path.join(data, `f-${i}.bin`), buf);
}

// The server: admin token for init, an append token in a 0600 file named by `token_file`.
const state = path.join(work, 'server-state');
const token = (name, role) => {
  const file = path.join(work, `${name}.token`);
  const t = JSON.parse(
    cli(['--json', 'serve-repository', 'token', 'add', '--name', name, '--role', role, '--state-dir', state]),
  ).token;
  fs.writeFileSync(file, `${t}\n`, { mode: 0o600 });
  return file;
};
const adminToken = token('admin', 'admin');
const appendToken = token('bench', 'append');
const server = spawn(
  process.execPath,
  [
    CLI,
    '--json',
    'serve-repository',
    '--root',
    path.join(work, 'served'),
    '--listen',
    '127.0.0.1:0',
    '--state-dir',
    state,
  ],
  { env, stdio: ['ignore', 'pipe', 'inherit'] },
);
const url = await new Promise((resolve, reject) => {
  let out = '';
  server.on('exit', (c) => reject(new Error(`serve-repository exited ${c}`)));
  server.stdout.on('data', (d) => {
    out += d;
    const line = out.split('\n').find((l) => l.includes('"listening"'));
    if (line) resolve(JSON.parse(line).url);
  });
});
const sshd = haveSshd() ? await startSshd() : undefined;

const config = path.join(work, 'lifeboat.yaml');
const lines = [
  'version: 1',
  'repositories:',
  `  local: { url: ${path.join(work, 'local')} }`,
  `  server: { url: "${url}", token_file: ${appendToken} }`,
];
if (sshd)
  lines.push(
    `  sftp: { url: "${sshd.url(path.join(work, 'sftp'))}", identity_file: ${sshd.clientKey}, known_hosts: ${sshd.knownHosts} }`,
  );
fs.writeFileSync(config, `${lines.join('\n')}\n`);
const vmHwm = () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]);
try {
  for (const name of ['local', 'server', ...(sshd ? ['sftp'] : [])]) {
    if (name === 'server') cli(['--repo', url, 'init'], { LIFEBOAT_SERVER_TOKEN_FILE: adminToken });
    else cli(['--config', config, '--repo', name, 'init']);
    const start = process.hrtime.bigint();
    cli(['--config', config, '--repo', name, '--no-progress', 'backup', '--host', 'bench', data]);
    const s = Number(process.hrtime.bigint() - start) / 1e9;
    const extra = name === 'server' ? `; server VmHWM ${(vmHwm() / 1024).toFixed(0)} MiB` : '';
    console.log(
      `${name.padEnd(7)} ${values.mb} MiB in ${s.toFixed(1)} s = ${(Number(values.mb) / s).toFixed(1)} MiB/s${extra}`,
    );
  }
  console.log(`load average: ${fs.readFileSync('/proc/loadavg', 'utf8').trim()} (${os.cpus().length} cores)`);
} finally {
  server.kill('SIGTERM');
  await sshd?.stop();
  if (!values.work) fs.rmSync(work, { recursive: true, force: true });
}
