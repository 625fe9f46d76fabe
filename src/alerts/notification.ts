import { formatSeconds } from '../util/format.js';
import type { AlertView } from './views.js';

/**
 * What notifiers send. `failure` is a critical alert firing (or repeating),
 * `alert` a warning, `recovered` an alert that cleared, `success` a job run
 * that finished ok. A notifier's `on:` picks among them (default: all but
 * success).
 */
export type NotifyEvent = 'failure' | 'alert' | 'recovered' | 'success';

export const DEFAULT_ON: NotifyEvent[] = ['failure', 'alert', 'recovered'];

export interface Notification {
  event: NotifyEvent;
  /** One line for a subject or a chat message. */
  summary: string;
  host: string;
  time: string;
  /** The alert as `/api/v1/alerts` shows it; `repeat` is true when this is a reminder of an alert that is still active. */
  alert?: AlertView & { repeat: boolean };
  run?: { id: string; job: string; outcome: string; duration_seconds: number };
}

/** Where alert events can go: the generic webhook, email, and the chat and push services' own formats. */
export type EventNotifierType = 'webhook' | 'email' | 'slack' | 'discord' | 'teams' | 'ntfy' | 'gotify' | 'matrix';

/** A notifier told about alert events. */
export interface EventNotifier {
  type: EventNotifierType;
  /** A description safe to show (no credentials, no secret URL paths). */
  name: string;
  on: NotifyEvent[];
  send(n: Notification): Promise<void>;
}

/**
 * A job run starting or ending. `summary` (end only) is a few plain lines:
 * the outcome and each step, errors included.
 */
export type RunEvent =
  | { phase: 'start'; job: string; runId: string }
  | { phase: 'end'; job: string; runId: string; outcome: string; summary: string };

/** A notifier told when job runs start and end: ping (healthchecks.io style). */
export interface RunNotifier {
  type: 'ping';
  name: string;
  /** Only these jobs (default: all). */
  jobs?: string[];
  /** How long one attempt may take: the longest a finished run waits for its pings. */
  timeoutMs: number;
  /** Resolves when the ping went through; rejects when it failed after its retries or was abandoned. */
  run(e: RunEvent, abandon: AbortSignal): Promise<void>;
}

export type Notifier = EventNotifier | RunNotifier;

/** Plain-text body shared by the notifiers. */
export function renderText(n: Notification): string {
  const lines = [n.summary, '', `host: ${n.host}`, `time: ${n.time}`];
  if (n.alert) {
    const a = n.alert;
    lines.push(`rule: ${a.rule} (${a.severity})`);
    for (const k of ['source', 'repository', 'job'] as const) if (a[k]) lines.push(`${k}: ${a[k]}`);
    lines.push(`fired: ${a.fired_at}`);
    if (a.resolved_at) lines.push(`resolved: ${a.resolved_at}`);
    lines.push('', a.message);
  }
  if (n.run)
    lines.push(
      `job: ${n.run.job}`,
      `run: ${n.run.id}`,
      `outcome: ${n.run.outcome}`,
      `duration: ${formatSeconds(n.run.duration_seconds)}`,
    );
  return `${lines.join('\n')}\n`;
}
