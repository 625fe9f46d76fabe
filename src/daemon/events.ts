/**
 * The daemon's live events (job and step started/finished, scheduler
 * decisions) for `/api/v1/events`. A small fan-out with a bounded number of
 * listeners; events carry no secrets (errors pass the redactor first).
 *
 * @module
 */

import type { DaemonEvent } from './api-types.js';

export type { DaemonEvent } from './api-types.js';

export class EventHub {
  private readonly listeners = new Set<(e: DaemonEvent) => void>();
  private seq = 0;

  constructor(readonly maxListeners = 32) {}

  publish(type: string, data: Record<string, unknown> = {}): void {
    const event: DaemonEvent = { ...data, type, time: new Date().toISOString(), seq: ++this.seq };
    for (const l of this.listeners) l(event);
  }

  /** Returns the unsubscribe function, or undefined when too many are listening. */
  subscribe(listener: (e: DaemonEvent) => void): (() => void) | undefined {
    if (this.listeners.size >= this.maxListeners) return undefined;
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
