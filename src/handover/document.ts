/**
 * A small document model for the pack's pages: written once, rendered as
 * Markdown and as a printable HTML page, so the two always say the same.
 * Inline text uses two Markdown marks only: `code` and **strong**; values
 * from the config go through `code()` so nothing in them is read as markup.
 *
 * @module
 */

export type Block =
  | { kind: 'heading'; level: 1 | 2 | 3; text: string }
  | { kind: 'para'; text: string }
  | { kind: 'list'; items: string[]; ordered?: boolean }
  | { kind: 'table'; head: string[]; rows: string[][] }
  | { kind: 'code'; text: string; lang: string }
  | { kind: 'callout'; tone: 'warning' | 'info'; text: string };

export const heading = (level: 1 | 2 | 3, text: string): Block => ({ kind: 'heading', level, text });
export const para = (text: string): Block => ({ kind: 'para', text });
export const list = (items: string[], ordered = false): Block => ({ kind: 'list', items, ordered });
export const table = (head: string[], rows: string[][]): Block => ({ kind: 'table', head, rows });
export const codeBlock = (text: string, lang = 'sh'): Block => ({ kind: 'code', text, lang });
export const callout = (tone: 'warning' | 'info', text: string): Block => ({ kind: 'callout', tone, text });

/** An inline code span that holds any text: the fence is longer than any run of backticks inside. */
export function code(text: string): string {
  const longest = Math.max(0, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

export type Inline = { kind: 'text' | 'code' | 'strong'; text: string };

/** Split inline text into plain text, code spans and strong runs (CommonMark rules for code spans). */
export function parseInline(text: string): Inline[] {
  const out: Inline[] = [];
  let plain = '';
  const flush = () => {
    if (plain) out.push(...strongRuns(plain));
    plain = '';
  };
  let i = 0;
  while (i < text.length) {
    if (text[i] !== '`') {
      plain += text[i++];
      continue;
    }
    let n = 0;
    while (text[i + n] === '`') n++;
    const fence = '`'.repeat(n);
    let close = text.indexOf(fence, i + n);
    while (close !== -1 && text[close + n] === '`') close = text.indexOf(fence, close + n + 1);
    if (close === -1) {
      plain += fence;
      i += n;
      continue;
    }
    flush();
    let inner = text.slice(i + n, close);
    if (inner.length > 2 && inner.startsWith(' ') && inner.endsWith(' ')) inner = inner.slice(1, -1);
    out.push({ kind: 'code', text: inner });
    i = close + n;
  }
  flush();
  return out;
}

function strongRuns(text: string): Inline[] {
  const out: Inline[] = [];
  let last = 0;
  for (const m of text.matchAll(/\*\*(.+?)\*\*/g)) {
    if (m.index > last) out.push({ kind: 'text', text: text.slice(last, m.index) });
    out.push({ kind: 'strong', text: m[1]! });
    last = m.index + m[0].length;
  }
  if (last < text.length) out.push({ kind: 'text', text: text.slice(last) });
  return out;
}
