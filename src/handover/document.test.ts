import { describe, expect, it } from 'vitest';
import { callout, code, codeBlock, heading, list, para, parseInline, table } from './document.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';

describe('the pack document model', () => {
  it('code() holds any text, and parseInline reads it back exactly', () => {
    for (const text of ['plain', 'a `tick` inside', '``double``', '`edge', 'with **stars** and <tags>']) {
      const parts = parseInline(`before ${code(text)} after`);
      expect(parts).toEqual([
        { kind: 'text', text: 'before ' },
        { kind: 'code', text },
        { kind: 'text', text: ' after' },
      ]);
    }
  });

  it('reads **strong** outside code spans only, and leaves unbalanced marks as text', () => {
    expect(parseInline('a **b** `**c**` **d')).toEqual([
      { kind: 'text', text: 'a ' },
      { kind: 'strong', text: 'b' },
      { kind: 'text', text: ' ' },
      { kind: 'code', text: '**c**' },
      { kind: 'text', text: ' **d' },
    ]);
  });

  const blocks = [
    heading(1, 'Title <x>'),
    para('see `a|b` and **bold**'),
    list(['one', 'two'], true),
    table(['k', 'v'], [['pipe', code('a|b')]]),
    codeBlock('echo "$X" </dev/null'),
    callout('warning', 'careful & <ok>'),
  ];

  it('renders Markdown with table pipes escaped and fences around code', () => {
    const md = renderMarkdown(blocks);
    expect(md).toContain('# Title <x>');
    expect(md).toContain('| pipe | `a\\|b` |');
    expect(md).toContain('1. one\n2. two');
    expect(md).toContain('```sh\necho "$X" </dev/null\n```');
    expect(md).toContain('> **Warning:** careful & <ok>');
  });

  it('renders one self-contained HTML page with everything escaped', () => {
    const html = renderHtml('T <1>', blocks);
    expect(html).toContain('<title>T &lt;1&gt;</title>');
    expect(html).toContain('<h1>Title &lt;x&gt;</h1>');
    expect(html).toContain('<p>see <code>a|b</code> and <strong>bold</strong></p>');
    expect(html).toContain('<pre><code>echo &quot;$X&quot; &lt;/dev/null</code></pre>');
    expect(html).toContain('careful &amp; &lt;ok&gt;');
    // Nothing fetched from anywhere: no scripts, links, images or remote URLs.
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|@import|url\(/i);
  });
});
