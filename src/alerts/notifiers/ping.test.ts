import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startPingReceiver, type PingReceiver } from '../../../test/helpers/servers/ping-receiver.js';
import { Dispatcher } from '../dispatch.js';
import type { RunEvent } from '../notification.js';
import { pingNotifier, pingUrl } from './ping.js';

const fast = { attempts: 3, baseDelayMs: 20 };
const never = new AbortController().signal;
const start = (job = 'nightly', runId = 'r1'): RunEvent => ({ phase: 'start', job, runId });
const end = (outcome: string, job = 'nightly', runId = 'r1'): RunEvent => ({
  phase: 'end',
  job,
  runId,
  outcome,
  summary: `job ${job} run ${runId}: ${outcome}\nfailed  backup db -> local: disk full\n`,
});

describe('ping notifier (healthchecks.io style) against a real HTTP receiver', () => {
  let rx: PingReceiver;
  const path = () => new URL(rx.url).pathname;
  beforeAll(async () => {
    rx = await startPingReceiver();
  });
  afterAll(async () => rx.close());
  beforeEach(() => {
    rx.pings.length = 0;
    rx.hang(false);
    rx.failNext(0, 503);
  });

  it('pings /start, then the bare URL on success and /fail otherwise, with the summary as body', async () => {
    const ping = pingNotifier({ url: `${rx.url}/` }, fast, 2000);
    await ping.run(start(), never);
    await ping.run(end('ok'), never);
    await ping.run(start('nightly', 'r2'), never);
    await ping.run(end('partial', 'nightly', 'r2'), never);
    expect(rx.pings.map((p) => `${p.method} ${p.path}`)).toEqual([
      `POST ${path()}/start`,
      `POST ${path()}`,
      `POST ${path()}/start`,
      `POST ${path()}/fail`,
    ]);
    expect(rx.pings[0]!.body).toBe('');
    expect(rx.pings[3]!.body).toContain('disk full');
    expect(ping.name).toBe(`ping ${new URL(rx.url).host}`);
    expect(ping.name).not.toContain('check-key');
  });

  it('retries 503 answers with backoff, does not retry a 404, and keeps start before end', async () => {
    const ping = pingNotifier({ url: rx.url }, fast, 2000);
    rx.failNext(2, 503);
    const started = ping.run(start(), never);
    const ended = ping.run(end('failed'), never); // sent only after the start ping went through
    await Promise.all([started, ended]);
    expect(rx.pings.map((p) => p.path)).toEqual([`${path()}/start`, `${path()}/fail`]);
    expect(rx.pings[1]!.at).toBeGreaterThanOrEqual(rx.pings[0]!.at);

    const before = rx.requests();
    rx.failNext(1, 404);
    await expect(ping.run(start(), never)).rejects.toThrow(/answered 404 \(after up to 3 attempts\)/);
    expect(rx.requests() - before).toBe(1);

    rx.failNext(5, 503);
    await expect(ping.run(start(), never)).rejects.toThrow(/answered 503/);
  });

  it('reads the URL from url_file and never shows it', () => {
    expect(pingNotifier({ url_file: '/etc/lifeboat/hc.url' }).name).toBe('ping (URL in url_file)');
    expect(pingUrl('https://hc-ping.com/abc?create=1', '/fail')).toBe('https://hc-ping.com/abc/fail?create=1');
  });

  it('a receiver that never answers costs one timeout per attempt and never holds up the caller', async () => {
    rx.hang(true);
    const logged: string[] = [];
    const d = new Dispatcher(
      [
        pingNotifier({ url: rx.url }, { attempts: 2, baseDelayMs: 50 }, 400),
        pingNotifier({ url: rx.url, jobs: ['other'] }, fast, 400),
      ],
      (l) => logged.push(l),
    );
    const before = rx.requests();
    const t0 = Date.now();
    d.run(start());
    d.run(end('ok'));
    expect(Date.now() - t0).toBeLessThan(50); // run() returns at once
    await d.settle(); // at most the longest timeout, then the rest is abandoned
    const waited = Date.now() - t0;
    expect(waited).toBeGreaterThanOrEqual(350);
    expect(waited).toBeLessThan(1500);
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.requests() - before).toBe(1); // the start ping's first attempt; its retries and the end ping were abandoned
    const [mine, other] = d.report();
    expect(mine!.failures).toBe(2); // the start and the end ping
    expect(mine!.last_error).toMatch(/ping 127\.0\.0\.1:\d+ \((start|end)\): (no answer within 0\.4 s|abandoned)/);
    expect(other).toMatchObject({ failures: 0 }); // filtered by jobs: never pinged
    expect(other!.last_ok).toBeUndefined();
    expect(logged.join('\n')).not.toContain('check-key');
  });
});
