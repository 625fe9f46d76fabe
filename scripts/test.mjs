#!/usr/bin/env node
// Runs the whole test suite with vitest and ends with one plain summary line
// ("tests: N passed, N failed, N skipped") that CI systems can read.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, '.test-results', 'vitest.json');
mkdirSync(path.dirname(out), { recursive: true });
rmSync(out, { force: true });

const vitest = path.join(root, 'node_modules', 'vitest', 'vitest.mjs');
const args = [vitest, 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)];
const started = Date.now();
const run = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env: { ...process.env, CI: process.env.CI ?? 'true' } });

let passed = 0;
let failed = 0;
let skipped = 0;
const skippedNames = [];
try {
  const report = JSON.parse(readFileSync(out, 'utf8'));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
  // A file that fails to load has no failed tests of its own but must still count.
  if (failed === 0 && (report.numFailedTestSuites ?? 0) > 0) failed = report.numFailedTestSuites;
  skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) if (t.status !== 'passed' && t.status !== 'failed') skippedNames.push(`${path.relative(root, file.name)} > ${t.fullName}`);
  }
} catch {
  failed = Math.max(failed, 1);
}
const seconds = ((Date.now() - started) / 1000).toFixed(0);
console.log(`\nsuite finished in ${seconds} s`);
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
// The whole suite runs every test: a skipped one (a server missing, a forgotten .skip) fails it.
const wholeSuite = process.argv.length <= 2;
if (wholeSuite && skipped > 0) console.log(`skipped tests fail the suite:\n${skippedNames.map((n) => `  ${n}`).join('\n')}`);
const code = run.status ?? 1;
process.exit(code !== 0 ? code : failed > 0 || passed === 0 || (wholeSuite && skipped > 0) ? 1 : 0);
