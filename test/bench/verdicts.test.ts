import { mkdtempSync, readFileSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The benchmark's verdicts against restic (bench/lib/verdicts.mjs), its case options
 * (bench/lib/options.mjs) and the real tree's ~1% change (bench/lib/real-tree.mjs): the
 * pure parts of the harness, checked on made-up medians and a small temp tree.
 */

type StepSummary = { wallSeconds: number; maxRssKB: number; repoBytes?: number };
type Summary = { steps: Record<string, StepSummary>; repoAddedByMutatedBackup: number | null };
type Verdict = { pass: boolean | null; missed: string[]; ratios: Record<string, number | null> };
type Verdicts = {
  memory: Verdict;
  faster: Verdict;
  speedup: Verdict;
  repository: { afterFullBackup: { lifeboat: number | null; restic: number | null; lifeboatToRestic: number | null } };
};
type VerdictsModule = {
  caseVerdicts: (tools: Record<string, { summary?: Summary }>) => Verdicts;
  formatVerdicts: (v: Verdicts) => string[];
};
type CaseEntry = { scale: number; mode: string | null; defaultMode: string | null };
type OptionsModule = {
  parseOptions: (argv: string[]) => { scales: CaseEntry[]; parts: string[]; mode: string | null };
  caseMode: (c: Partial<CaseEntry>, opts: { mode: string | null }, canCold: boolean) => string;
};
type RealTreeModule = {
  changeRealTree: (root: string) => Promise<{ filesChanged: number; filesTotal: number }>;
};

// @ts-expect-error: a plain ESM script without declarations
const verdicts = (await import('../../bench/lib/verdicts.mjs')) as VerdictsModule;
// @ts-expect-error: a plain ESM script without declarations
const options = (await import('../../bench/lib/options.mjs')) as OptionsModule;
// @ts-expect-error: a plain ESM script without declarations
const realTree = (await import('../../bench/lib/real-tree.mjs')) as RealTreeModule;

const STEPS = ['init', 'backup-full', 'backup-unchanged', 'backup-mutated', 'restore'];
function summary(wall: number[], rssMB: number[], repoBytes = 1e6): Summary {
  const steps: Record<string, StepSummary> = {};
  STEPS.forEach(
    (s, i) => (steps[s] = { wallSeconds: wall[i] ?? 0, maxRssKB: ((rssMB[i] ?? 0) * 1e6) / 1024, repoBytes }),
  );
  return { steps, repoAddedByMutatedBackup: 1000 };
}

describe('benchmark verdicts against restic', () => {
  it('pass when every step meets the bar', () => {
    const v = verdicts.caseVerdicts({
      lifeboat: { summary: summary([1, 2, 1, 1, 2], [100, 140, 100, 100, 140]) },
      restic: { summary: summary([2, 4, 2, 2, 4], [100, 100, 100, 100, 100]) },
    });
    expect([v.memory.pass, v.faster.pass, v.speedup.pass]).toEqual([true, true, true]);
    expect(v.speedup.ratios).toEqual({ 'backup-full': 2, restore: 2 });
    expect(v.memory.ratios['backup-full']).toBe(1.4);
  });

  it('name the steps that missed, and ignore init for memory', () => {
    const v = verdicts.caseVerdicts({
      lifeboat: { summary: summary([1, 3, 1, 1, 2], [900, 400, 100, 160, 100], 2e6) },
      restic: { summary: summary([2, 4, 0.5, 2, 2.5], [100, 100, 100, 100, 100], 1e6) },
    });
    expect(v.memory.pass).toBe(false);
    expect(v.memory.missed).toEqual(['backup-full', 'backup-mutated']);
    expect(v.faster.missed).toEqual(['backup-unchanged']);
    expect(v.speedup.missed).toEqual(['backup-full', 'restore']);
    expect(v.repository.afterFullBackup.lifeboatToRestic).toBe(2);
    const lines = verdicts.formatVerdicts(v).join('\n');
    expect(lines).toContain('FAIL  peak RSS ≤ 1.5× restic');
    expect(lines).toContain('missed: full, after change');
  });

  it('count a step that was not measured as missed, and say n/a without restic', () => {
    const lb = summary([1, 1, 1, 1, 1], [100, 100, 100, 100, 100]);
    const partial = summary([2, 2, 2, 2, 2], [100, 100, 100, 100, 100]);
    delete partial.steps.restore;
    const v = verdicts.caseVerdicts({ lifeboat: { summary: lb }, restic: { summary: partial } });
    expect(v.faster.pass).toBe(false);
    expect(v.faster.missed).toEqual(['restore']);
    const none = verdicts.caseVerdicts({ lifeboat: { summary: lb } });
    expect(none.memory.pass).toBeNull();
    expect(verdicts.formatVerdicts(none)[0]).toContain('n/a');
  });
});

describe('benchmark cases', () => {
  it('default to scale 1 and scale 0.2 warm, every part', () => {
    const o = options.parseOptions([]);
    expect(o.scales.map((s) => [s.scale, options.caseMode(s, o, true)])).toEqual([
      [1, 'cold'],
      [0.2, 'warm'],
    ]);
    expect(o.parts).toEqual(['generated', 'real-tree', 'sqlite']);
  });

  it('take a cache mode per scale, --warm for the rest, and leave the real tree out on request', () => {
    const o = options.parseOptions(['--scales', '0.5:cold,0.05', '--warm', '--no-real-tree']);
    expect(o.scales.map((s) => options.caseMode(s, o, true))).toEqual(['cold', 'warm']);
    expect(o.parts).toEqual(['generated', 'sqlite']);
    expect(() => options.parseOptions(['--scales', '1:hot'])).toThrow(/invalid --scales/);
    expect(() => options.parseOptions(['--scale', '1', '--scales', '2'])).toThrow(/mutually exclusive/);
  });
});

describe('the real tree change', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('appends a line to every 100th file, deterministically', async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'lifeboat-bench-real-tree-'));
    mkdirSync(path.join(dir, 'a'));
    for (let i = 0; i < 250; i++) writeFileSync(path.join(dir, 'a', `f${String(i).padStart(3, '0')}.js`), 'x');
    const r = await realTree.changeRealTree(dir);
    expect(r).toMatchObject({ filesChanged: 3, filesTotal: 250 });
    expect(readFileSync(path.join(dir, 'a', 'f000.js'), 'utf8')).toMatch(/^x\n.*round 1/);
    expect(readFileSync(path.join(dir, 'a', 'f100.js'), 'utf8')).not.toBe('x');
    expect(readFileSync(path.join(dir, 'a', 'f001.js'), 'utf8')).toBe('x');
  });
});
