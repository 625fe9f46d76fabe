import { freeLoopbackPort } from '../../../src/sources/throwaway-server.js';

/** A TCP port on loopback that was free a moment ago (bound to port 0, then released). */
export const freePort = freeLoopbackPort;

/** Poll `ready` until it returns true; throws with `describe()` after `timeoutMs`. */
export async function waitUntil(
  ready: () => Promise<boolean>,
  timeoutMs: number,
  describe: () => Promise<string>,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ready().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server not ready after ${timeoutMs} ms: ${await describe().catch(() => '')}`);
}
