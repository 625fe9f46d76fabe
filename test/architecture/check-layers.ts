import type { ImportEdge } from './import-graph.js';

/** The top-level entry of `src/` a file belongs to: `src/cli/x.ts` → `cli`, `src/index.ts` → `index.ts`. */
export function folderOf(file: string): string {
  const parts = file.split('/');
  return parts[0] === 'src' ? (parts[1] ?? file) : file;
}

/** What the layer check found: one line per offending import and per import cycle. */
export interface LayerReport {
  upImports: string[];
  unknownFolders: string[];
  folderCycles: string[];
  fileCycles: string[];
}

/**
 * Checks an import graph against a layer order (top to bottom): no import from a lower layer to
 * a higher one, no folder that the order does not place, no loop between folders (same layer
 * included) and no loop between files.
 */
export function checkLayers(edges: readonly ImportEdge[], layers: readonly (readonly string[])[]): LayerReport {
  const layerOf = new Map<string, number>();
  layers.forEach((folders, index) => folders.forEach((folder) => layerOf.set(folder, index)));
  const describe = (folder: string): string => `${folder} (layer ${layerOf.get(folder)})`;

  const upImports: string[] = [];
  const unknown = new Set<string>();
  const folderEdges: ImportEdge[] = [];
  for (const edge of edges) {
    const from = folderOf(edge.from);
    const to = folderOf(edge.to);
    for (const folder of [from, to]) if (!layerOf.has(folder)) unknown.add(folder);
    if (from === to || !layerOf.has(from) || !layerOf.has(to)) continue;
    folderEdges.push({ from, to });
    // Layer numbers grow downwards: importing a smaller number is importing upwards.
    if (layerOf.get(to)! < layerOf.get(from)!) {
      upImports.push(`${edge.from} imports ${edge.to}: ${describe(from)} may not import ${describe(to)}`);
    }
  }
  const folderCycles = cycles(folderEdges).map(
    (cycle) => `folders import each other in a loop: ${[...cycle, cycle[0]].join(' → ')}`,
  );
  const fileCycles = cycles(edges).map(
    (cycle) => `files import each other in a loop: ${[...cycle, cycle[0]].join(' → ')}`,
  );
  return { upImports, unknownFolders: [...unknown].sort(), folderCycles, fileCycles };
}

/**
 * One cycle per strongly connected component of more than one node (or a node importing itself),
 * listed as a path through that component (Tarjan's algorithm, then a walk inside the component).
 */
export function cycles(edges: readonly ImportEdge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) {
    if (!next.has(from)) next.set(from, []);
    if (!next.has(to)) next.set(to, []);
    if (!next.get(from)!.includes(to)) next.get(from)!.push(to);
  }
  for (const targets of next.values()) targets.sort();

  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  const strongConnect = (node: string): void => {
    index.set(node, counter);
    low.set(node, counter);
    counter++;
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node)!) {
      if (!index.has(target)) {
        strongConnect(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      const selfLoop = next.get(node)!.includes(node);
      if (component.length > 1 || selfLoop) components.push(component.sort());
    }
  };
  for (const node of [...next.keys()].sort()) if (!index.has(node)) strongConnect(node);
  return components.map((component) => pathThrough(component, next));
}

/** A closed path inside one component, from its first node back to it (shortest by breadth-first search). */
function pathThrough(component: string[], next: Map<string, string[]>): string[] {
  const members = new Set(component);
  const start = component[0]!;
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const node = queue.shift()!;
    for (const target of next.get(node)!) {
      if (!members.has(target)) continue;
      if (target === start) {
        const path = [node];
        while (path[0] !== start) path.unshift(previous.get(path[0]!)!);
        return path;
      }
      if (!previous.has(target)) {
        previous.set(target, node);
        queue.push(target);
      }
    }
  }
  return component;
}
