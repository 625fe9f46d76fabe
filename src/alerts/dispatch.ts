import type { NotifierView } from './views.js';
import type { Notification, Notifier, RunEvent } from './notification.js';

/** How one notifier fared, as `/api/v1/alerts` shows it. */
export type NotifierStatus = NotifierView;

/**
 * Sends a notification to every notifier whose `on:` wants it, at the same
 * time, and tells the run notifiers (ping) when job runs start and end. A
 * failing notifier never throws out of here: its error is logged, kept for
 * `/api/v1/alerts`, and the others still get the message. Run events never
 * wait: `run()` returns at once, and `settle()` waits a bounded time for the
 * pings still in flight, then drops them (before a process exits).
 */
export class Dispatcher {
  private readonly status: NotifierStatus[];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abandon = new AbortController();

  constructor(
    private readonly notifiers: Notifier[],
    private readonly log: (line: string) => void = () => {},
    private readonly redact: (text: string) => string = (t) => t,
  ) {
    this.status = notifiers.map((n) => ({ type: n.type, name: n.name, failures: 0 }));
  }

  async send(n: Notification): Promise<void> {
    await Promise.all(
      this.notifiers.map(async (notifier, i) => {
        if (notifier.type === 'ping' || !notifier.on.includes(n.event)) return;
        await this.track(i, notifier.send(n));
      }),
    );
  }

  /** A job run started or ended: ping the run notifiers in the background. */
  run(e: RunEvent): void {
    const event = e.phase === 'end' ? { ...e, summary: this.redact(e.summary) } : e;
    this.notifiers.forEach((notifier, i) => {
      if (notifier.type !== 'ping' || (notifier.jobs && !notifier.jobs.includes(e.job))) return;
      const p = this.track(i, notifier.run(event, this.abandon.signal));
      this.inFlight.add(p);
      void p.finally(() => this.inFlight.delete(p));
    });
  }

  /**
   * Before the process exits: wait for the pings in flight, at most as long
   * as the longest ping timeout, then abandon the rest (and their retries).
   */
  async settle(): Promise<void> {
    if (this.inFlight.size === 0) return;
    const maxMs = Math.max(...this.notifiers.map((n) => (n.type === 'ping' ? n.timeoutMs : 0)));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all([...this.inFlight]), new Promise<void>((r) => (timer = setTimeout(r, maxMs)))]);
    clearTimeout(timer);
    this.abandon.abort();
    await Promise.all([...this.inFlight]);
  }

  report(): NotifierStatus[] {
    return this.status.map((s) => ({ ...s }));
  }

  private async track(i: number, sending: Promise<void>): Promise<void> {
    const st = this.status[i]!;
    const notifier = this.notifiers[i]!;
    try {
      await sending;
      st.last_ok = new Date().toISOString();
    } catch (err) {
      st.failures++;
      st.last_error = this.redact((err as Error).message ?? String(err));
      st.last_error_at = new Date().toISOString();
      this.log(`notify: ${notifier.name} failed: ${st.last_error}`);
    }
  }
}
