import { readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { closest, configError, type ConfigProblem } from './problems.js';
import { crossCheck } from './cross-check.js';
import { expandEnv } from './env-expand.js';
import { configSchema, type LifeboatConfig } from './schema.js';
import { objectKeys, schemaAt } from './schema-walk.js';
import { resolveRelativePaths } from './relative-paths.js';

/** A validated lifeboat.yaml and the file it came from (relative paths are relative to it). */
export interface LoadedConfig {
  file: string;
  config: LifeboatConfig;
}

/** Read, expand, validate and cross-check a config file; every problem is reported with its line. */
export function loadConfig(file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw configError(file, [{ file, path: '', message: `cannot read the config: ${(err as Error).message}` }]);
  }
  return parseConfig(text, file, env);
}

/** Validate lifeboat.yaml text against the schema; LifeboatError `config` naming each problem. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const lines = new LineCounter();
  // Duplicate keys are found by `duplicateKeys` below: the parser's own check compares each key
  // with every earlier key of its mapping (16,000 sources took 17 s, 200,000 over 12 minutes).
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: false });
  const at = (offset: number | undefined) =>
    offset === undefined ? {} : { line: lines.linePos(offset).line, column: lines.linePos(offset).col };

  const syntax = [...doc.errors, ...doc.warnings].map((e): ConfigProblem => ({
    file,
    ...at(e.pos[0]),
    path: '',
    message: e.message.split('\n')[0]!,
    hint: 'this is not valid YAML',
  }));
  syntax.push(
    ...duplicateKeys(doc).map((offset): ConfigProblem => ({
      file,
      ...at(offset),
      path: '',
      message: 'Map keys must be unique',
      hint: 'this is not valid YAML',
    })),
  );
  if (syntax.length) throw configError(file, firstProblems(syntax));

  const problems = expandDocument(doc, env, file, at);
  if (problems.length) throw configError(file, firstProblems(problems));

  const data = toData(doc, file, at);
  const parsed = configSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw configError(
      file,
      firstProblems(parsed.error.issues, (issue) => describeIssue(issue, data, doc, file, at)),
    );
  }
  const config = resolveRelativePaths(parsed.data, path.dirname(file));
  const cross = firstProblems(crossCheck(config), (p): ConfigProblem => ({
    file,
    ...at(nodeAt(doc, p.path)?.range?.[0]),
    ...p,
    path: p.path.join('.'),
  }));
  if (cross.length) throw configError(file, cross);
  return { file, config };
}

/** Problems reported in full; locating each costs a search of its mapping, so a flood is cut short. */
const MAX_PROBLEMS = 100;

function firstProblems<T>(
  all: T[],
  describe: (item: T) => ConfigProblem = (p) => p as unknown as ConfigProblem,
): ConfigProblem[] {
  const shown = all.slice(0, MAX_PROBLEMS).map(describe);
  if (all.length > MAX_PROBLEMS)
    shown.push({ file: shown[0]!.file, path: '', message: `and ${all.length - MAX_PROBLEMS} more problems` });
  return shown;
}

/** Where a key repeats an earlier key of its mapping: one pass, a set of keys per mapping. */
function duplicateKeys(doc: Document): number[] {
  const found: number[] = [];
  const visit = (node: unknown) => {
    if (isMap(node)) {
      const seen = new Set<unknown>();
      for (const pair of node.items) {
        if (isScalar(pair.key)) {
          if (seen.has(pair.key.value)) found.push(pair.key.range?.[0] ?? 0);
          seen.add(pair.key.value);
        }
        visit(pair.value);
      }
    } else if (isSeq(node)) node.items.forEach(visit);
  };
  visit(doc.contents);
  return found;
}

/** Aliases may expand to at most this many nodes each: a few levels of aliases of aliases would need gigabytes (an "alias bomb"). */
const MAX_ALIAS_COUNT = 100;

/** The plain data of the document; a runaway expansion of aliases is a problem at the first alias. */
function toData(doc: Document, file: string, at: Locate): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
  } catch (err) {
    if (!(err instanceof ReferenceError)) throw err;
    let first: number | undefined;
    visit(doc, { Alias: (_key, node) => ((first = node.range?.[0]), visit.BREAK) });
    throw configError(file, [
      {
        file,
        ...at(first),
        path: '',
        message: `aliases expand to too much data (${err.message.toLowerCase()})`,
        hint: `an alias may expand to at most ${MAX_ALIAS_COUNT} nodes; write the repeated part out, or alias less deeply`,
      },
    ]);
  }
}

type Locate = (offset: number | undefined) => { line?: number; column?: number };

/** `${ENV}` in every string value; unknown variables are errors at their line. */
function expandDocument(doc: Document, env: NodeJS.ProcessEnv, file: string, at: Locate): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const visit = (node: unknown, keyPath: string[]) => {
    if (isMap(node)) {
      for (const pair of node.items) visit(pair.value, [...keyPath, isScalar(pair.key) ? String(pair.key.value) : '?']);
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => visit(item, [...keyPath, String(i)]));
    } else if (isScalar(node) && typeof node.value === 'string') {
      const { value, missing } = expandEnv(node.value, env);
      for (const name of missing) {
        problems.push({
          file,
          ...at(node.range?.[0]),
          path: keyPath.join('.'),
          message: `environment variable ${name} is not set`,
          hint: `export ${name}, or write $\${${name}} for a literal \${${name}}`,
        });
      }
      node.value = value;
    }
  };
  visit(doc.contents, []);
  return problems;
}

function nodeAt(doc: Document, keyPath: readonly PropertyKey[]): Node | undefined {
  for (let n = keyPath.length; n >= 0; n--) {
    const node = doc.getIn(keyPath.slice(0, n) as unknown[], true) as Node | undefined;
    if (node && typeof node === 'object' && 'range' in node) return node;
  }
  return undefined;
}

function keyNodeAt(doc: Document, keyPath: readonly PropertyKey[], key: string): Node | undefined {
  const parent = keyPath.length ? doc.getIn(keyPath as unknown[], true) : doc.contents;
  if (isMap(parent)) {
    const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
    if (pair && isScalar(pair.key)) return pair.key;
  }
  return nodeAt(doc, keyPath);
}

function describeIssue(issue: z.core.$ZodIssue, data: unknown, doc: Document, file: string, at: Locate): ConfigProblem {
  const keyPath = issue.path;
  const dotted = keyPath.map(String).join('.');
  switch (issue.code) {
    case 'unrecognized_keys': {
      const key = issue.keys[0]!;
      const allowed = objectKeys(schemaAt(configSchema, keyPath, data));
      const guess = closest(key, allowed);
      return {
        file,
        ...at(keyNodeAt(doc, keyPath, key)?.range?.[0]),
        path: [...keyPath.map(String), key].join('.'),
        message: `unknown key${issue.keys.length > 1 ? `s ${issue.keys.map((k) => `"${k}"`).join(', ')}` : ` "${key}"`}`,
        hint: guess ? `did you mean "${guess}"?` : allowed.length ? `allowed here: ${allowed.join(', ')}` : undefined,
      };
    }
    case 'invalid_union': {
      const options = (issue as unknown as { options?: string[] }).options;
      const value = doc.getIn(keyPath as unknown[]);
      if (options && typeof value === 'string') {
        const guess = closest(value, options);
        return {
          file,
          ...at(nodeAt(doc, keyPath)?.range?.[0]),
          path: dotted,
          message: `unknown ${String(keyPath[keyPath.length - 1])} "${value}"`,
          hint: guess ? `did you mean "${guess}"? (one of ${options.join(', ')})` : `one of ${options.join(', ')}`,
        };
      }
      if (options)
        return {
          file,
          ...at(nodeAt(doc, keyPath)?.range?.[0]),
          path: dotted,
          message: 'missing "type"',
          hint: `one of ${options.join(', ')}`,
        };
      return { file, ...at(nodeAt(doc, keyPath)?.range?.[0]), path: dotted, message: issue.message };
    }
    case 'invalid_type': {
      const missing = issue.input === undefined;
      return {
        file,
        ...at(nodeAt(doc, keyPath)?.range?.[0]),
        path: dotted,
        message: missing
          ? 'required key is missing'
          : `expected ${issue.expected}, found ${describeValue(issue.input)}`,
      };
    }
    default:
      return { file, ...at(nodeAt(doc, keyPath)?.range?.[0]), path: dotted, message: issue.message };
  }
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `a ${typeof v}`; // never the value: it may be an expanded secret
}
