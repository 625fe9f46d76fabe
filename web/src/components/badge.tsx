import type { ComponentChildren } from 'preact';

export type Level = 'ok' | 'warn' | 'bad' | 'info';

/** A coloured status word; the colour is never the only signal (the text says it too). */
export function Badge({ level, children }: { level: Level; children: ComponentChildren }) {
  return <span class={`badge ${level}`}>{children}</span>;
}

export function outcomeLevel(outcome: string | null | undefined): Level {
  if (outcome === 'ok' || outcome === 'success' || outcome === 'PASS' || outcome === 'pass') return 'ok';
  if (
    outcome === 'partial' ||
    outcome === 'skipped' ||
    outcome === 'nothing_to_do' ||
    outcome === 'running' ||
    outcome === 'warning'
  )
    return 'warn';
  if (!outcome) return 'info';
  return 'bad';
}

export function Outcome({ value }: { value: string | null | undefined }) {
  return <Badge level={outcomeLevel(value)}>{value ?? '—'}</Badge>;
}
