import { readdir, readFile } from 'node:fs/promises';

/**
 * Samples every process's command line (/proc/PID/cmdline) until stopped and
 * reports any that contained one of the secrets: the test-side proof that
 * credentials never reach argv, where every local user could read them.
 */
export function watchProcessArgs(
  secrets: readonly string[],
  intervalMs = 5,
): { stop: () => Promise<{ samples: number; leaks: string[] }> } {
  const leaks = new Set<string>();
  let samples = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      samples++;
      const pids = (await readdir('/proc').catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
      await Promise.all(
        pids.map(async (pid) => {
          const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
          if (secrets.some((s) => s && cmdline.includes(s)))
            leaks.add(cmdline.split('\0').join(' ').replace(/\s+$/, ''));
        }),
      );
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { samples, leaks: [...leaks] };
    },
  };
}
