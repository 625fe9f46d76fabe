/**
 * What a chat message says about a notification, before any service's
 * format: a title (the one-line summary), the alert's message, and the facts
 * as name/value pairs. Each chat notifier lays these out in its service's own
 * format, so all of them say the same things.
 *
 * @module
 */

import { formatSeconds } from '../../util/format.js';
import type { Notification, NotifyEvent } from '../notification.js';

export interface ChatContent {
  event: NotifyEvent;
  title: string;
  /** The alert's message, or the run's outcome; may be empty. */
  text: string;
  facts: Array<[name: string, value: string]>;
  time: string;
}

export function chatContent(n: Notification): ChatContent {
  const facts: Array<[string, string]> = [['host', n.host]];
  let text = '';
  if (n.alert) {
    const a = n.alert;
    text = a.message;
    facts.push(['rule', `${a.rule} (${a.severity})${a.repeat ? ', still active' : ''}`]);
    for (const k of ['source', 'repository', 'job'] as const) if (a[k]) facts.push([k, a[k]]);
    facts.push(['fired', a.fired_at]);
    if (a.resolved_at) facts.push(['resolved', a.resolved_at]);
  }
  if (n.run) {
    text = text || `job ${n.run.job} ended ${n.run.outcome}`;
    facts.push(
      ['job', n.run.job],
      ['run', n.run.id],
      ['outcome', n.run.outcome],
      ['duration', formatSeconds(n.run.duration_seconds)],
    );
  }
  return { event: n.event, title: n.summary, text, facts, time: n.time };
}

/** The content as plain lines: title, text, then `name: value` facts. */
export function chatPlainText(c: ChatContent): string {
  return [c.title, ...(c.text ? ['', c.text] : []), '', ...c.facts.map(([k, v]) => `${k}: ${v}`)].join('\n');
}

/** Cut `s` to at most `max` characters, marking the cut. */
export function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}
