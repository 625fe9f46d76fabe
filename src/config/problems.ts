import { ErrorCode, LifeboatError } from '../errors/index.js';

/** One thing wrong with a config file, with where it is and what to do. */
export interface ConfigProblem {
  file: string;
  line?: number;
  column?: number;
  /** Dotted key path, e.g. `sources.app-db.path`. */
  path: string;
  message: string;
  hint?: string;
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.line ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  return `${where}: ${p.path ? `${p.path}: ` : ''}${p.message}${p.hint ? ` (hint: ${p.hint})` : ''}`;
}

export function configError(file: string, problems: ConfigProblem[]): LifeboatError {
  const first = problems[0];
  const summary =
    problems.length === 1
      ? formatProblem(first!)
      : `${problems.length} problems in ${file}:\n  ${problems.map(formatProblem).join('\n  ')}`;
  return new LifeboatError(ErrorCode.Config, summary, {
    hint: problems.length === 1 && first?.hint ? first.hint : 'fix the file and run `lifeboat config validate`',
    context: { problems },
  });
}

/** The closest candidate within a small edit distance, for "did you mean …" hints. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length]!;
}
