import os from 'node:os';
import path from 'node:path';

/**
 * Where local state lives (run history, audit log copies, what forget saw):
 * `state_dir` from lifeboat.yaml, else `$LIFEBOAT_STATE_DIR`, else
 * `$XDG_STATE_HOME/lifeboat` (~/.local/state/lifeboat). It is a cache of what
 * the repositories hold, never the only copy of anything.
 */
export function stateDir(configured?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (configured) return configured;
  if (env.LIFEBOAT_STATE_DIR) return env.LIFEBOAT_STATE_DIR;
  return path.join(env.XDG_STATE_HOME || path.join(os.homedir(), '.local', 'state'), 'lifeboat');
}
