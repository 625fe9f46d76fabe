#!/usr/bin/env node
// Makes sure the Debian packages the test suite needs are installed. As root it
// installs what is missing; otherwise it prints the exact command and fails, so
// no test ever skips silently because a tool or server is absent.
import { spawnSync } from 'node:child_process';

/** Debian package → why the suite needs it. */
export const REQUIRED_PACKAGES = {
  procps: 'ps, to assert that secrets never appear in process arguments',
  mount: 'mount/umount, for the disk-full test on a small tmpfs',
  sqlite3: 'the sqlite3 CLI, an independent reader of restored SQLite databases',
  age: 'the standard age CLI, to prove sealed secrets decrypt without Lifeboat',
  postgresql: 'initdb/pg_ctl/pg_dump/pg_restore for throwaway PostgreSQL servers',
  'mariadb-server': 'mariadbd/mariadb-dump for throwaway MariaDB servers',
  'mariadb-client': 'mariadb-dump and the mariadb client',
  'redis-server': 'redis-server for throwaway Redis instances',
  'victoria-metrics': 'victoria-metrics for throwaway time-series servers',
  prometheus: 'prometheus (and promtool) for throwaway Prometheus servers and the /metrics scrape test',
  'python3-aiosmtpd': "a real SMTP server receiving the daemon's alert mail",
  systemd: 'systemd-analyze, to verify the units and calendar specs of `lifeboat schedule systemd`',
  chromium: 'headless Chromium (driven by playwright-core) for the web dashboard tests against a real daemon',
  'openssh-server': 'sshd (with internal-sftp) for throwaway SFTP servers behind the SFTP driver tests',
  openssl: 'the openssl CLI, to make the self-signed certificate of the repository-server TLS test',
};

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

const missing = Object.keys(REQUIRED_PACKAGES).filter((p) => !installed(p));
if (missing.length === 0) process.exit(0);

const line = `apt-get install -y --no-install-recommends ${missing.join(' ')}`;
if (process.getuid?.() !== 0) {
  console.error(`The test suite needs these Debian packages: ${missing.join(', ')}.`);
  for (const p of missing) console.error(`  ${p}: ${REQUIRED_PACKAGES[p]}`);
  console.error(`Install them as root:\n  apt-get update && ${line}`);
  process.exit(1);
}
console.error(`pretest: installing ${missing.join(' ')} …`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
const update = spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
const install = update.status === 0 ? spawnSync('sh', ['-c', line], { stdio: 'inherit', env }) : update;
if (install.status !== 0) {
  console.error(`pretest: installing failed; run as root:\n  apt-get update && ${line}`);
  process.exit(1);
}
