import { describe, expect, it } from 'vitest';
import { DumpRowCounter } from './row-counter.js';

type Layout = 'one-line' | 'line-per-row';

/** A data section the way mysqldump (all rows on the INSERT's line) or mariadb-dump 10.11+ (a line per row) writes it. */
function sectionIn(table: string, inserts: string[], style: Layout): string {
  const layout = (values: string) => (style === 'one-line' ? ` ${values}` : `\n${splitTuples(values).join(',\n')}`);
  const q = `\`${table.replace(/`/g, '``')}\``;
  return [
    '--',
    `-- Dumping data for table ${q}`,
    '--',
    '',
    `LOCK TABLES ${q} WRITE;`,
    `/*!40000 ALTER TABLE ${q} DISABLE KEYS */;`,
    ...inserts.map((values) => `INSERT INTO ${q} VALUES${layout(values)};`),
    `/*!40000 ALTER TABLE ${q} ENABLE KEYS */;`,
    'UNLOCK TABLES;',
    '',
  ].join('\n');
}

function count(dump: string | Buffer, chunkSizes: number[] = [dump.length]): Record<string, number> {
  const bytes = Buffer.isBuffer(dump) ? dump : Buffer.from(dump, 'utf8');
  const counter = new DumpRowCounter();
  let at = 0;
  let i = 0;
  while (at < bytes.length) {
    const size = Math.max(1, chunkSizes[i++ % chunkSizes.length]!);
    counter.push(bytes.subarray(at, at + size));
    at += size;
  }
  return counter.rows();
}

/** Every split of the input into two chunks, and byte by byte: state must survive any boundary. */
function countEverySplit(dump: string): Record<string, number> {
  const whole = count(dump);
  const bytes = Buffer.from(dump, 'utf8');
  for (let cut = 1; cut < bytes.length; cut++) {
    const counter = new DumpRowCounter();
    counter.push(bytes.subarray(0, cut));
    counter.push(bytes.subarray(cut));
    expect(counter.rows(), `split at ${cut}`).toEqual(whole);
  }
  expect(count(dump, [1])).toEqual(whole);
  return whole;
}

/** The top-level tuples of a VALUES list (a reference splitter for building the line-per-row layout). */
function splitTuples(values: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quote = '';
  let start = 0;
  for (let i = 0; i < values.length; i++) {
    const c = values[i]!;
    if (quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = values[i + 1] === quote ? (i++, quote) : '';
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) {
      out.push(values.slice(start, i + 1));
      start = i + 2; // skip the comma
    }
  }
  return out;
}

describe.each(['one-line', 'line-per-row'] as const)('DumpRowCounter (%s)', (layout) => {
  const section = (table: string, inserts: string[]) => sectionIn(table, inserts, layout);

  it('counts the tuples of extended inserts, across statements', () => {
    const dump = section('t', ["(1,'a'),(2,'b'),(3,'c')", "(4,'d')"]);
    expect(countEverySplit(dump)).toEqual({ t: 4 });
  });

  it('ignores parentheses, commas and semicolons inside string literals', () => {
    const dump = section('t', ["(1,'a),(b'),(2,'(('),(3,')); INSERT INTO `t` VALUES (9);')"]);
    expect(countEverySplit(dump)).toEqual({ t: 3 });
  });

  it('handles backslash-escaped quotes and backslashes', () => {
    // SQL text: 'it\'s'  'back\\'  'x\\\'),(y'  — the last is x\'),(y
    const dump = section('t', ["(1,'it\\'s'),(2,'back\\\\'),(3,'x\\\\\\'),(y')", "(4,'\\\\'),(5,'\\'')"]);
    expect(countEverySplit(dump)).toEqual({ t: 5 });
  });

  it('handles doubled quotes and double-quoted literals', () => {
    const dump = section('t', ['(1,\'it\'\'s),(x\'),(2,"say ""("""),(3,"a\'b")']);
    expect(countEverySplit(dump)).toEqual({ t: 3 });
  });

  it('handles hex blobs, NULLs, numbers and nested parentheses outside strings', () => {
    const dump = section('blobs', [
      '(1,0x00FF28292C3B27,NULL,-1.5e3),(2,0x,NULL,0)',
      "(3,ST_GeomFromText('POINT(1 2)'),(1),2)",
    ]);
    expect(countEverySplit(dump)).toEqual({ blobs: 3 });
  });

  it('counts an empty table as 0 and a table name with backticks and spaces', () => {
    const dump = section('empty', []) + section('we`ird name', ['(1),(2)']) + section('ünï', ['(1)']);
    expect(countEverySplit(dump)).toEqual({ empty: 0, 'we`ird name': 2, ünï: 1 });
  });

  it('keeps newlines and escaped newlines inside strings from ending the statement', () => {
    const dump = section('t', ["(1,'line\\nbreak'),(2,'raw\nnewline),(x'),(3,'z')"]);
    expect(countEverySplit(dump)).toEqual({ t: 3 });
  });

  it('does not count INSERT lines outside a data section (routine and trigger bodies)', () => {
    const routine = [
      'DELIMITER ;;',
      'CREATE PROCEDURE `p`()',
      'BEGIN',
      'INSERT INTO `t` VALUES (1),(2);',
      'END ;;',
      'DELIMITER ;',
      '',
    ].join('\n');
    const dump = section('t', ['(7)']) + routine;
    expect(countEverySplit(dump)).toEqual({ t: 1 });
  });

  it('does not count an INSERT into another table inside a section', () => {
    const dump = section('t', ['(1)']).replace('UNLOCK TABLES;', 'INSERT INTO `other` VALUES (5),(6);\nUNLOCK TABLES;');
    expect(count(dump)).toEqual({ t: 1 });
  });

  it('copes with Windows line ends and binary bytes in literals', () => {
    const head = Buffer.from("LOCK TABLES `b` WRITE;\r\nINSERT INTO `b` VALUES (1,'");
    const binary = Buffer.from([0x28, 0x29, 0xff, 0xfe, 0x00, 0x5c, 0x27, 0x2c, 0x28]); // ( ) ÿ þ NUL \' , (
    const tail = Buffer.from("'),(2,'');\r\nUNLOCK TABLES;\r\n");
    expect(count(Buffer.concat([head, binary, tail]))).toEqual({ b: 2 });
    expect(count(Buffer.concat([head, binary, tail]), [1])).toEqual({ b: 2 });
  });

  it('counts a large dump in bounded memory, whatever the chunking', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `(${i},'v${i}),(\\'${i}')`);
    const inserts: string[] = [];
    for (let i = 0; i < rows.length; i += 700) inserts.push(rows.slice(i, i + 700).join(','));
    const dump = section('big', inserts);
    expect(count(dump, [7, 4096, 1, 65536, 13])).toEqual({ big: 5000 });
  });
});
