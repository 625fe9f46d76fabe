import type { Block } from './document.js';

/** Blocks as GitHub-flavoured Markdown. */
export function renderMarkdown(blocks: Block[]): string {
  return `${blocks.map(markdownBlock).join('\n\n')}\n`;
}

// In a table cell, `|` ends the cell even inside a code span, and a newline ends the row.
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function markdownBlock(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `${'#'.repeat(b.level)} ${b.text}`;
    case 'para':
      return b.text;
    case 'list':
      return b.items.map((item, i) => `${b.ordered ? `${i + 1}.` : '-'} ${item.replace(/\n/g, '\n   ')}`).join('\n');
    case 'table':
      return [
        `| ${b.head.map(cell).join(' | ')} |`,
        `|${b.head.map(() => '---').join('|')}|`,
        ...b.rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
      ].join('\n');
    case 'code': {
      const longest = Math.max(2, ...[...b.text.matchAll(/`+/g)].map((m) => m[0].length));
      const fence = '`'.repeat(longest + 1);
      return `${fence}${b.lang}\n${b.text}\n${fence}`;
    }
    case 'callout':
      return b.text
        .split('\n')
        .map((line, i) => `> ${i === 0 ? (b.tone === 'warning' ? '**Warning:** ' : '**Note:** ') : ''}${line}`)
        .join('\n');
  }
}
