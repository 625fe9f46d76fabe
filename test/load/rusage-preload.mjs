// Preloaded into a CLI process by the load test (node --import): at exit it
// writes the process's own CPU time (all threads, getrusage) as JSON to the
// file named by LIFEBOAT_TEST_RUSAGE_FILE.
import { writeFileSync } from 'node:fs';

const out = process.env.LIFEBOAT_TEST_RUSAGE_FILE;
if (out) {
  process.on('exit', () => {
    const r = process.resourceUsage();
    writeFileSync(out, JSON.stringify({ userMs: r.userCPUTime / 1000, systemMs: r.systemCPUTime / 1000 }));
  });
}
