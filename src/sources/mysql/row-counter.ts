/**
 * Counts the rows a mysqldump / mariadb-dump stream holds, per table, as the
 * stream passes: under concurrent writes these are exactly the rows that were
 * stored (a second query would see a different moment). Memory is bounded: a
 * line's first bytes are kept only until it is known what the line is.
 *
 * A table's data section is `LOCK TABLES \`t\` WRITE;` … `UNLOCK TABLES;`
 * (the dump is made with --add-locks); inside it, each
 * `INSERT INTO \`t\` VALUES (…),(…);` adds one row per top-level tuple,
 * whether the tuples share the line (mysqldump) or get one line each
 * (mariadb-dump 10.11+).
 * Parentheses, quotes and backslash escapes inside string literals are
 * skipped. INSERT lines outside a data section (in a routine or trigger body)
 * are not rows. A table with an empty data section counts 0 rows.
 *
 * @module
 */

const NEWLINE = 0x0a;
const SPACE = 0x20;
const BACKSLASH = 0x5c;
const SINGLE = 0x27;
const DOUBLE = 0x22;
const OPEN = 0x28;
const CLOSE = 0x29;
const SEMICOLON = 0x3b;

/** Longer heads cannot be a statement we look for (identifiers are at most 64 characters). */
const HEAD_MAX = 4096;
const CARRIAGE_RETURN = 0x0d;
const VALUES_END = Buffer.from(' VALUES');

const INSERT = /^INSERT INTO `((?:[^`]|``)+)` VALUES$/;
const LOCK = /^LOCK TABLES `((?:[^`]|``)+)` WRITE;$/;
const UNLOCK = 'UNLOCK TABLES;';

const enum Mode {
  Head,
  SkipLine,
  Values,
}

export class DumpRowCounter {
  private readonly counts = new Map<string, number>();
  private mode = Mode.Head;
  private head = Buffer.alloc(HEAD_MAX);
  private headLength = 0;
  private section: string | undefined;
  private table = '';
  private depth = 0;
  /** The quote character of the string literal being read, 0 outside one. */
  private quote = 0;
  private escaped = false;
  /** A quote was seen inside a literal: it ends the literal unless the next byte doubles it. */
  private quotePending = false;

  push(chunk: Uint8Array): void {
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      switch (this.mode) {
        case Mode.Head:
          this.headByte(b);
          break;
        case Mode.SkipLine:
          if (b === NEWLINE) this.startLine();
          break;
        case Mode.Values:
          this.valueByte(b);
          break;
      }
    }
  }

  /** Rows per table, in the order the dump listed them. */
  rows(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  private startLine(): void {
    this.mode = Mode.Head;
    this.headLength = 0;
  }

  private headByte(b: number): void {
    if ((b === SPACE || b === NEWLINE || b === CARRIAGE_RETURN || b === OPEN) && this.startsValues()) {
      this.table = this.section!;
      this.mode = Mode.Values;
      this.depth = 0;
      this.quote = 0;
      this.escaped = false;
      this.quotePending = false;
      if (b === OPEN) this.valueByte(b);
      return;
    }
    if (b === NEWLINE) {
      this.lineEnded();
      this.startLine();
      return;
    }
    if (this.headLength === HEAD_MAX) {
      this.mode = Mode.SkipLine;
      return;
    }
    this.head[this.headLength++] = b;
  }

  /** The line so far is `INSERT INTO \`<the section's table>\` VALUES`. */
  private startsValues(): boolean {
    if (this.section === undefined || !this.headEndsWith(VALUES_END)) return false;
    const m = INSERT.exec(this.head.toString('utf8', 0, this.headLength));
    return m !== null && unquote(m[1]!) === this.section;
  }

  private headEndsWith(suffix: Buffer): boolean {
    if (this.headLength < suffix.length) return false;
    return this.head.subarray(this.headLength - suffix.length, this.headLength).equals(suffix);
  }

  private lineEnded(): void {
    const line = this.head.toString('utf8', 0, this.headLength).replace(/\r$/, '');
    const lock = LOCK.exec(line);
    if (lock) {
      this.section = unquote(lock[1]!);
      if (!this.counts.has(this.section)) this.counts.set(this.section, 0);
    } else if (line === UNLOCK) {
      this.section = undefined;
    }
  }

  private valueByte(b: number): void {
    if (this.quotePending) {
      this.quotePending = false;
      if (b === this.quote) return; // '' inside a literal is one quote
      this.quote = 0;
    }
    if (this.quote !== 0) {
      if (this.escaped) this.escaped = false;
      else if (b === BACKSLASH) this.escaped = true;
      else if (b === this.quote) this.quotePending = true;
      return;
    }
    switch (b) {
      case SINGLE:
      case DOUBLE:
        this.quote = b;
        break;
      case OPEN:
        if (this.depth === 0) this.counts.set(this.table, (this.counts.get(this.table) ?? 0) + 1);
        this.depth++;
        break;
      case CLOSE:
        if (this.depth > 0) this.depth--;
        break;
      case SEMICOLON:
        if (this.depth === 0) this.mode = Mode.SkipLine;
        break;
    }
  }
}

function unquote(name: string): string {
  return name.replace(/``/g, '`');
}
