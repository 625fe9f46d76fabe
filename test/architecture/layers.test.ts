import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkLayers, cycles } from './check-layers.js';
import { importGraph, relativeImports } from './import-graph.js';
import { LAYERS } from './layers.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

describe('the layers of src/', () => {
  const edges = importGraph(root);

  it('reads the import graph of src/ (a sanity floor, so an empty graph cannot pass)', () => {
    expect(edges.length).toBeGreaterThan(1000);
  });

  it('places every top-level folder of src/ on a layer', () => {
    expect(checkLayers(edges, LAYERS).unknownFolders).toEqual([]);
  });

  it('has no import from a lower layer to a higher one', () => {
    expect(checkLayers(edges, LAYERS).upImports).toEqual([]);
  });

  it('has no loop between folders, on the same layer or not', () => {
    expect(checkLayers(edges, LAYERS).folderCycles).toEqual([]);
  });

  it('has no loop between files', () => {
    expect(checkLayers(edges, LAYERS).fileCycles).toEqual([]);
  });
});

describe('the layer check itself', () => {
  const layers = [['cli'], ['jobs', 'drill'], ['util']];

  it('names an import that points up, with both layers', () => {
    const report = checkLayers([{ from: 'src/util/format.ts', to: 'src/cli/format.ts' }], layers);
    expect(report.upImports).toEqual([
      'src/util/format.ts imports src/cli/format.ts: util (layer 2) may not import cli (layer 0)',
    ]);
  });

  it('allows imports downwards and inside a folder', () => {
    const report = checkLayers(
      [
        { from: 'src/cli/a.ts', to: 'src/util/b.ts' },
        { from: 'src/cli/a.ts', to: 'src/cli/c.ts' },
        { from: 'src/jobs/a.ts', to: 'src/drill/b.ts' },
      ],
      layers,
    );
    expect(report).toEqual({ upImports: [], unknownFolders: [], folderCycles: [], fileCycles: [] });
  });

  it('names a loop between files, listing the files of the loop', () => {
    const report = checkLayers(
      [
        { from: 'src/cli/a.ts', to: 'src/cli/b.ts' },
        { from: 'src/cli/b.ts', to: 'src/cli/c.ts' },
        { from: 'src/cli/c.ts', to: 'src/cli/a.ts' },
      ],
      layers,
    );
    expect(report.fileCycles).toEqual([
      'files import each other in a loop: src/cli/a.ts → src/cli/b.ts → src/cli/c.ts → src/cli/a.ts',
    ]);
  });

  it('names a loop between folders of the same layer', () => {
    const report = checkLayers(
      [
        { from: 'src/jobs/a.ts', to: 'src/drill/b.ts' },
        { from: 'src/drill/c.ts', to: 'src/jobs/d.ts' },
      ],
      layers,
    );
    expect(report.upImports).toEqual([]);
    expect(report.folderCycles).toEqual(['folders import each other in a loop: drill → jobs → drill']);
  });

  it('names a folder the layer order does not place', () => {
    expect(checkLayers([{ from: 'src/cli/a.ts', to: 'src/plugins/b.ts' }], layers).unknownFolders).toEqual(['plugins']);
  });

  it('finds one cycle per loop, not one per file in it', () => {
    expect(
      cycles([
        { from: 'a', to: 'b' },
        { from: 'b', to: 'a' },
        { from: 'b', to: 'c' },
      ]),
    ).toEqual([['a', 'b']]);
  });

  it('reads import type, dynamic import(), export from and require as imports', () => {
    const text = [
      "import type { A } from './a.js';",
      "import { B } from '../b/b.js';",
      "export { C } from './c.js';",
      "const d = await import('./d.js');",
      "const e = require('./e.cjs');",
      "import fs from 'node:fs';",
    ].join('\n');
    expect(relativeImports('src/x/y.ts', text).sort()).toEqual([
      'src/b/b.ts',
      'src/x/a.ts',
      'src/x/c.ts',
      'src/x/d.ts',
      'src/x/e.cts',
    ]);
  });
});
