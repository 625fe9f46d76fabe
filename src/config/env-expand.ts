/**
 * `${NAME}` in config strings is replaced by the environment variable NAME
 * (docs/configuration.md). `$${` writes a literal `${`. A variable that is not set is an
 * error rather than an empty string: an empty URL or path would fail later in
 * a far less obvious way.
 *
 * @module
 */

const REFERENCE = /\$(\$)?\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

export interface Expansion {
  value: string;
  missing: string[];
}

export function expandEnv(text: string, env: NodeJS.ProcessEnv = process.env): Expansion {
  const missing: string[] = [];
  const value = text.replace(REFERENCE, (whole, escaped: string | undefined, name: string) => {
    if (escaped) return whole.slice(1);
    const v = env[name];
    if (v === undefined) {
      missing.push(name);
      return whole;
    }
    return v;
  });
  return { value, missing };
}
