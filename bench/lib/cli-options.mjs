// Command-line pieces shared by the benchmark scripts (run.mjs, remote.mjs): parsing with a usage
// error, numeric options with a check, comma-separated lists of known names, and --cold/--warm.

import { parseArgs } from 'node:util';

export class UsageError extends Error {}

/** `parseArgs` over `argv` with `options`; an unknown or malformed option is a UsageError. */
export function parseValues(argv, options) {
  try {
    return parseArgs({ args: argv, options }).values;
  } catch (e) {
    throw new UsageError(e.message);
  }
}

/** A reader of numeric options: `num(name, default, ok)` is the default when absent, a UsageError when `ok` refuses it. */
export function numberReader(values) {
  return (name, def, ok) => {
    if (values[name] === undefined) return def;
    const v = Number(values[name]);
    if (!ok(v)) throw new UsageError(`invalid --${name} ${JSON.stringify(values[name])}`);
    return v;
  };
}

/** The distinct, lower-cased items of a comma-separated list. */
export function list(value) {
  return [
    ...new Set(
      value
        .split(',')
        .map((t) => t.trim().toLowerCase())
        .filter(Boolean),
    ),
  ];
}

/** The items of `value`, each one of `known` (`kind` names them in the error, e.g. "tool"). */
export function namedList(value, known, kind) {
  const items = list(value);
  const bad = items.filter((t) => !known.includes(t));
  if (bad.length || items.length === 0)
    throw new UsageError(`unknown ${kind}(s) ${bad.join(', ') || '(none given)'}; known: ${known.join(', ')}`);
  return items;
}

/** `cold`, `warm` or null from --cold / --warm, which exclude each other. */
export function cacheModeOf(values) {
  if (values.cold && values.warm) throw new UsageError('--cold and --warm are mutually exclusive');
  return values.cold ? 'cold' : values.warm ? 'warm' : null;
}
