/**
 * A second line of defence for `${ENV}` in lifeboat.yaml: the loaded config
 * holds the expanded values, and a variable may carry a secret into a field
 * the pack shows (a path, a host). Every value of a variable the config file
 * references is written back as `${NAME}` in every text of the pack. Short
 * values are left alone: replacing "1" or "app" everywhere would garble the
 * pack and they are no secret worth the name.
 *
 * @module
 */

const REFERENCE = /(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const MIN_LENGTH = 6;

export type Redactor = (text: string) => string;

/** The variable names a config text references (`$${X}` is a literal, not a reference). */
export function referencedVariables(configText: string): string[] {
  return [...new Set([...configText.matchAll(REFERENCE)].map((m) => m[1]!))];
}

export function envRedactor(names: string[], env: NodeJS.ProcessEnv = process.env): Redactor {
  const pairs = names
    .map((name) => ({ name, value: env[name] }))
    .filter((p): p is { name: string; value: string } => typeof p.value === 'string' && p.value.length >= MIN_LENGTH)
    // Longest first, so a value containing another is replaced whole.
    .sort((a, b) => b.value.length - a.value.length);
  if (pairs.length === 0) return (text) => text;
  return (text) => pairs.reduce((t, p) => t.split(p.value).join(`\${${p.name}}`), text);
}
