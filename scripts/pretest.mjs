#!/usr/bin/env node
// Makes sure the Debian packages the test suite needs are installed. As root it
// installs what is missing; otherwise it prints the exact command and fails, so
// no test ever skips silently because a tool or server is absent.
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** The offline image the docker source tests run their containers from (src/sources/testing/podman-service.ts). */
const TEST_IMAGE = 'localhost/lifeboat-test-busybox:latest';
/** How podman runs on test machines (nested in a container: no systemd, no cgroup delegation). */
const PODMAN_FLAGS = ['--runtime', 'runc', '--cgroup-manager=cgroupfs'];

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
  podman:
    'serves the Docker Engine API on a unix socket, with real containers and volumes, for the docker source tests',
  runc: "the OCI runtime podman starts the docker source tests' containers with",
  'busybox-static': 'one static binary from which the offline test image of the docker source tests is built',
  rclone: 'a real WebDAV client (its :webdav: backend) listing and copying snapshots from `lifeboat webdav`',
  openssl: 'the openssl CLI, to make the self-signed certificate of the repository-server TLS test',
};

function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}

const missing = Object.keys(REQUIRED_PACKAGES).filter((p) => !installed(p));
if (missing.length) installMissing(missing);
setUpPodman();

function installMissing(missing) {
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
}

/**
 * One-time podman setup for the docker source tests, done only when missing:
 * no default ulimits (containers in a test machine's container cannot raise
 * them), and an offline busybox image (no registry is ever contacted).
 */
function setUpPodman() {
  const conf = '/etc/containers/containers.conf';
  const text = existsSync(conf) ? readFileSync(conf, 'utf8') : '';
  if (!/^\s*default_ulimits\s*=\s*\[\s*\]/m.test(text)) {
    if (!canWrite(conf)) fail(`${conf} needs "default_ulimits = []" under [containers]`);
    const updated = /^\[containers\]/m.test(text)
      ? text.replace(/^\[containers\]\s*$/m, '[containers]\ndefault_ulimits = []')
      : `${text}${text && !text.endsWith('\n') ? '\n' : ''}[containers]\ndefault_ulimits = []\n`;
    mkdirSync(path.dirname(conf), { recursive: true });
    writeFileSync(conf, updated);
    console.error(`pretest: set default_ulimits = [] in ${conf}`);
  }
  const exists = spawnSync('podman', [...PODMAN_FLAGS, 'image', 'exists', TEST_IMAGE]);
  if (exists.status === 0) return;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-busybox-'));
  try {
    const bin = path.join(dir, 'rootfs', 'bin');
    mkdirSync(bin, { recursive: true });
    copyFileSync('/bin/busybox', path.join(bin, 'busybox'));
    chmodSync(path.join(bin, 'busybox'), 0o755);
    const list = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' });
    for (const applet of list.stdout.split('\n').filter((a) => a && a !== 'busybox'))
      symlinkSync('busybox', path.join(bin, applet));
    for (const d of ['tmp', 'data', 'proc', 'sys', 'dev', 'etc']) mkdirSync(path.join(dir, 'rootfs', d));
    const tar = path.join(dir, 'rootfs.tar');
    run('tar', ['-C', path.join(dir, 'rootfs'), '-cf', tar, '.']);
    run('podman', [...PODMAN_FLAGS, 'import', tar, TEST_IMAGE]);
    console.error(`pretest: imported ${TEST_IMAGE} from busybox-static`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function canWrite(file) {
  try {
    accessSync(existsSync(file) ? file : path.dirname(file), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error?.message}`);
}

function fail(message) {
  console.error(`pretest: ${message} (run \`node scripts/pretest.mjs\` as root once)`);
  process.exit(1);
}
