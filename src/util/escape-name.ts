/**
 * A file name made safe for a terminal: control characters (C0, DEL, C1) and
 * the bidirectional-override characters are shown as escapes, and a backslash
 * is doubled so that an escape can always be told from a name that contains one.
 * Names from a snapshot are untrusted: printed raw, `\e]…` sequences could
 * rewrite the terminal's title, move the cursor or hide lines.
 * `--json` output keeps the exact name.
 *
 * @module
 */

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x1b': '\\e', '\\': '\\\\' };

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\\\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function escapeName(name: string): string {
  return name.replace(
    UNSAFE,
    (c) =>
      NAMED[c] ??
      (c.charCodeAt(0) <= 0xff
        ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
        : `\\u{${c.charCodeAt(0).toString(16)}}`),
  );
}
