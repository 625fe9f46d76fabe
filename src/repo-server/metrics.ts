/**
 * The repository server's own `/metrics` (Prometheus text): requests by
 * operation and result, bytes received and sent, refused requests by reason,
 * and each token's quota use and limit. Counters live for the process.
 *
 * @module
 */

import { Counter, Gauge, Registry } from 'prom-client';
import type { Ledger } from './ledger.js';
import type { TokenStore } from './tokens.js';

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly requests = new Counter({
    name: 'lifeboat_repository_server_requests_total',
    help: 'Requests by operation (get, get_range, put, remove, stat, list, space, info, stale_temporaries, metrics) and result (ok or an error code).',
    labelNames: ['op', 'result'],
    registers: [this.registry],
  });
  private readonly bytesIn = new Counter({
    name: 'lifeboat_repository_server_received_bytes_total',
    help: 'Object bytes received and stored, by token.',
    labelNames: ['token'],
    registers: [this.registry],
  });
  private readonly bytesOut = new Counter({
    name: 'lifeboat_repository_server_sent_bytes_total',
    help: 'Object bytes sent, by token.',
    labelNames: ['token'],
    registers: [this.registry],
  });
  private readonly refused = new Counter({
    name: 'lifeboat_repository_server_refused_total',
    help: 'Refused requests by reason (unauthorized, append_only, quota_exceeded, forbidden).',
    labelNames: ['reason'],
    registers: [this.registry],
  });

  constructor(tokens: TokenStore, ledger: Ledger) {
    const used = new Gauge({
      name: 'lifeboat_repository_server_quota_used_bytes',
      help: 'Bytes stored through each token (what its quota counts).',
      labelNames: ['token', 'role'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const t of tokens.list()) this.set({ token: t.name, role: t.role }, ledger.used(t.name));
      },
    });
    const limit = new Gauge({
      name: 'lifeboat_repository_server_quota_limit_bytes',
      help: 'Quota of each token that has one.',
      labelNames: ['token'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const t of tokens.list()) if (t.quotaBytes !== undefined) this.set({ token: t.name }, t.quotaBytes);
      },
    });
    void used;
    void limit;
  }

  request(op: string, result: string): void {
    this.requests.inc({ op, result });
  }

  received(token: string, bytes: number): void {
    this.bytesIn.inc({ token }, bytes);
  }

  sent(token: string, bytes: number): void {
    this.bytesOut.inc({ token }, bytes);
  }

  refusal(reason: string): void {
    this.refused.inc({ reason });
  }
}
