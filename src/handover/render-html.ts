import { parseInline, type Block } from './document.js';

/**
 * Blocks as one self-contained, printable HTML page: no scripts, no external
 * styles, fonts or images, so it prints and archives the same anywhere.
 */
export function renderHtml(title: string, blocks: Block[]): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:62rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.6rem;border-bottom:2px solid #1b1f24;padding-bottom:.3rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #d0d7de}h3{font-size:1.05rem}
table{border-collapse:collapse;width:100%;margin:.8rem 0}td,th{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}th{background:#f6f8fa}
code{font:12.5px ui-monospace,monospace;background:#f6f8fa;padding:0 .2rem;overflow-wrap:anywhere}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem;white-space:pre-wrap;overflow-wrap:anywhere}pre code{padding:0;background:none}
.callout{border-left:4px solid #0969da;background:#ddf4ff;padding:.5rem .8rem;margin:1rem 0}.callout.warning{border-color:#cf222e;background:#ffebe9}
@media print{body{margin:0;max-width:none;font-size:11pt}h2{break-after:avoid}table,pre,.callout{break-inside:avoid}a{color:inherit}}
@page{margin:1.5cm}
</style></head><body>
${blocks.map(htmlBlock).join('\n')}
</body></html>
`;
}

export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function inline(text: string): string {
  return parseInline(text)
    .map((p) =>
      p.kind === 'code'
        ? `<code>${escapeHtml(p.text)}</code>`
        : p.kind === 'strong'
          ? `<strong>${escapeHtml(p.text)}</strong>`
          : escapeHtml(p.text),
    )
    .join('');
}

function htmlBlock(b: Block): string {
  switch (b.kind) {
    case 'heading':
      return `<h${b.level}>${inline(b.text)}</h${b.level}>`;
    case 'para':
      return `<p>${inline(b.text).replace(/\n/g, '<br>')}</p>`;
    case 'list': {
      const tag = b.ordered ? 'ol' : 'ul';
      return `<${tag}>${b.items.map((i) => `<li>${inline(i).replace(/\n/g, '<br>')}</li>`).join('')}</${tag}>`;
    }
    case 'table':
      return `<table><tr>${b.head.map((h) => `<th>${inline(h)}</th>`).join('')}</tr>${b.rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`).join('')}</table>`;
    case 'code':
      return `<pre><code>${escapeHtml(b.text)}</code></pre>`;
    case 'callout':
      return `<div class="callout ${b.tone}"><strong>${b.tone === 'warning' ? 'Warning:' : 'Note:'}</strong> ${inline(b.text).replace(/\n/g, '<br>')}</div>`;
  }
}
