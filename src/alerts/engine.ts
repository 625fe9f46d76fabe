/**
 * Turns the conditions of each evaluation into alert state and messages: a
 * new condition fires once, an active one is sent again every `repeatEveryMs`
 * (0: never), and one that no longer holds is resolved with a "recovered"
 * message. A condition whose severity changed (free space going from warning
 * to critical) is a new alert at the new severity, so it reaches the notifiers
 * of that severity; the old one is closed without a "recovered" message.
 * State lives in the AlertStore, so a restart changes nothing.
 *
 * @module
 */

import os from 'node:os';
import type { AlertRecord, AlertStore } from '../state/alerts-store.js';
import type { Notification } from './notification.js';
import type { AlertCondition } from './rules.js';

export interface EngineResult {
  fired: AlertRecord[];
  repeated: AlertRecord[];
  resolved: AlertRecord[];
}

export class AlertEngine {
  constructor(
    private readonly store: AlertStore,
    private readonly send: (n: Notification) => Promise<void>,
    private readonly repeatEveryMs: number,
    private readonly host = os.hostname(),
  ) {}

  async evaluate(conditions: AlertCondition[], now: number): Promise<EngineResult> {
    const at = new Date(now).toISOString();
    const open = new Map(this.store.active().map((a) => [a.key, a]));
    const result: EngineResult = { fired: [], repeated: [], resolved: [] };
    const messages: Notification[] = [];
    const seen = new Set<string>();
    for (const c of conditions) {
      if (seen.has(c.key)) continue;
      seen.add(c.key);
      let existing = open.get(c.key);
      if (existing && existing.severity !== c.severity) {
        this.store.resolve(existing.id, at);
        open.delete(c.key);
        existing = undefined;
      }
      if (!existing) {
        const a = this.store.fire(
          {
            key: c.key,
            rule: c.rule,
            severity: c.severity,
            subject: { source: c.source, repository: c.repository, job: c.job },
            message: c.message,
          },
          at,
        );
        this.store.markSent(a.id, at);
        result.fired.push(a);
        messages.push(this.message(a, false, at));
        continue;
      }
      if (existing.message !== c.message) this.store.updateMessage(existing.id, c.message);
      const last = Date.parse(existing.lastSentAt ?? existing.firedAt);
      if (this.repeatEveryMs > 0 && now - last >= this.repeatEveryMs) {
        this.store.markSent(existing.id, at);
        const a = { ...existing, message: c.message };
        result.repeated.push(a);
        messages.push(this.message(a, true, at));
      }
    }
    for (const a of open.values()) {
      if (seen.has(a.key)) continue;
      this.store.resolve(a.id, at);
      const r = { ...a, resolvedAt: at };
      result.resolved.push(r);
      messages.push(this.message(r, false, at));
    }
    for (const m of messages) await this.send(m);
    return result;
  }

  private message(a: AlertRecord, repeat: boolean, at: string): Notification {
    const recovered = a.resolvedAt !== undefined;
    const event = recovered ? 'recovered' : a.severity === 'critical' ? 'failure' : 'alert';
    const label = recovered
      ? 'RECOVERED'
      : `${a.severity === 'critical' ? 'FAILURE' : 'WARNING'}${repeat ? ' (still active)' : ''}`;
    return {
      event,
      summary: `${label} ${a.rule}${a.subject.source ? ` ${a.subject.source}` : ''}${a.subject.repository ? ` @ ${a.subject.repository}` : ''}`,
      host: this.host,
      time: at,
      alert: {
        id: a.id,
        rule: a.rule,
        severity: a.severity,
        ...a.subject,
        message: a.message,
        fired_at: a.firedAt,
        ...(recovered ? { resolved_at: a.resolvedAt } : {}),
        repeat,
      },
    };
  }
}
