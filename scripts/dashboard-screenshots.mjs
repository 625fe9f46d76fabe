#!/usr/bin/env node
// Regenerates the dashboard screenshots in docs/images/ (shown in docs/dashboard.md and the README):
// builds the project, then runs the browser test (test/web/dashboard.test.ts) with
// LIFEBOAT_DOCS_SCREENSHOTS=1, which saves the viewport of the overview (1280 and 390 px wide), a
// snapshot, the jobs, the charts and a drill report as they look against a real daemon and repository.
// Needs Debian's chromium at /usr/bin/chromium (apt-get install chromium).
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const IMAGES = ['overview-1280', 'overview-390', 'snapshot-1280', 'jobs-1280', 'charts-1280', 'drill-report-1280'];

const run = (cmd, args, env = process.env) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const started = Date.now();
run('npm', ['run', 'build', '--silent']);
run(process.execPath, [path.join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/web/dashboard.test.ts'], {
  ...process.env,
  LIFEBOAT_DOCS_SCREENSHOTS: '1',
});

let missing = 0;
for (const name of IMAGES) {
  const file = path.join(root, 'docs', 'images', `${name}.png`);
  try {
    const s = statSync(file);
    if (s.mtimeMs < started) throw new Error('not rewritten');
    console.log(`${path.relative(root, file)}  ${(s.size / 1024).toFixed(0)} KiB`);
  } catch (err) {
    console.error(`${path.relative(root, file)}: ${err.message}`);
    missing++;
  }
}
process.exit(missing ? 1 : 0);
