#!/usr/bin/env node
// Runs the whole test suite with vitest and ends with one plain summary line
// ("tests: N passed, N failed, N skipped") that CI systems can read.
//
// The whole suite runs in three parts: everything else (two test files at a time);
// then the tests that change the machine itself (installing the Debian package
// adds a system user to /etc/passwd, which the restore-escape tests watch), alone;
// then the tests that measure this machine's capacity, alone, so that other test
// files sharing the two cores do not move their figures. With arguments, one
// vitest run gets them as they are.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
/** Tests that install into the system (dpkg, a system user): run after the rest, with nothing else running. */
const SYSTEM = ['test/package/deb.test.ts'];
/** Tests that compare timings under load: run last, with nothing else running. */
const MEASURING = ['test/load/api-load.test.ts'];

const userArgs = process.argv.slice(2);
const wholeSuite = userArgs.length === 0;
const parts = wholeSuite
  ? [
      { name: 'vitest', args: [...SYSTEM, ...MEASURING].flatMap((f) => ['--exclude', f]) },
      { name: 'vitest-system', args: SYSTEM },
      { name: 'vitest-measuring', args: MEASURING },
    ]
  : [{ name: 'vitest', args: userArgs }];

const started = Date.now();
const totals = { passed: 0, failed: 0, skipped: 0, skippedNames: [], exit: 0 };
for (const part of parts) {
  const out = path.join(root, '.test-results', `${part.name}.json`);
  mkdirSync(path.dirname(out), { recursive: true });
  rmSync(out, { force: true });
  const args = [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...part.args];
  const run = spawnSync(process.execPath, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, CI: process.env.CI ?? 'true' },
  });
  if ((run.status ?? 1) !== 0 && totals.exit === 0) totals.exit = run.status ?? 1;
  addReport(out);
}

/** Adds one vitest JSON report to the totals; a missing or unreadable report counts as a failure. */
function addReport(file) {
  try {
    const report = JSON.parse(readFileSync(file, 'utf8'));
    let failed = report.numFailedTests ?? 0;
    // A file that fails to load has no failed tests of its own but must still count.
    if (failed === 0 && (report.numFailedTestSuites ?? 0) > 0) failed = report.numFailedTestSuites;
    totals.passed += report.numPassedTests ?? 0;
    totals.failed += failed;
    totals.skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
    for (const f of report.testResults ?? []) {
      for (const t of f.assertionResults ?? [])
        if (t.status !== 'passed' && t.status !== 'failed')
          totals.skippedNames.push(`${path.relative(root, f.name)} > ${t.fullName}`);
    }
  } catch {
    totals.failed = Math.max(totals.failed, 1);
  }
}

const seconds = ((Date.now() - started) / 1000).toFixed(0);
console.log(`\nsuite finished in ${seconds} s`);
console.log(`tests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
// The whole suite runs every test: a skipped one (a server missing, a forgotten .skip) fails it.
if (wholeSuite && totals.skipped > 0)
  console.log(`skipped tests fail the suite:\n${totals.skippedNames.map((n) => `  ${n}`).join('\n')}`);
const bad = totals.failed > 0 || totals.passed === 0 || (wholeSuite && totals.skipped > 0);
process.exit(totals.exit !== 0 ? totals.exit : bad ? 1 : 0);
