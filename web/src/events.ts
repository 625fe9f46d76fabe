import { token } from './api';
import type { DaemonEvent } from './types';

/**
 * The daemon's server-sent events (`/api/v1/events`), read with fetch so the
 * token travels in the Authorization header (EventSource cannot send it).
 * Reconnects after a pause while the returned function has not been called.
 */
export function subscribe(onEvent: (e: DaemonEvent) => void, onState?: (connected: boolean) => void): () => void {
  const stop = new AbortController();
  const run = async () => {
    while (!stop.signal.aborted) {
      try {
        const res = await fetch('/api/v1/events', {
          headers: { authorization: `Bearer ${token() ?? ''}` },
          signal: stop.signal,
        });
        if (!res.ok || !res.body) throw new Error(`events: ${res.status}`);
        onState?.(true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffer = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          let end: number;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data:'))
              .map((l) => l.slice(5).trimStart())
              .join('\n');
            if (data) onEvent(JSON.parse(data) as DaemonEvent);
          }
        }
      } catch {
        /* dropped or refused: retry below */
      }
      onState?.(false);
      if (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 3000));
    }
  };
  void run();
  return () => stop.abort();
}
