// Command-line options of bench/run.mjs.

import path from 'node:path';
import { TOOL_NAMES } from './tools.mjs';
import { UsageError, cacheModeOf, list, namedList, numberReader, parseValues } from './cli-options.mjs';

export { UsageError };

export const PARTS = ['generated', 'real-tree', 'sqlite'];

/** The default cases: scale 1 as before (cold cache when root), and the small-backup case warm. */
const DEFAULT_SCALES = [
  { scale: 1, mode: null, defaultMode: null },
  { scale: 0.2, mode: null, defaultMode: 'warm' },
];

export const USAGE = `usage: npm run bench -- [options]      (or: node bench/run.mjs [options])
  --scales LIST     generated dataset scales, each optionally with :cold or :warm
                    (default 1,0.2:warm — scale 1 with the default cache mode, scale 0.2 warm)
  --scale F         one scale (same as --scales F)
  --dataset DIR     use an existing pristine dataset instead of generating any
  --seed N          dataset seed (default 42)
  --parts LIST      comma-separated: generated,real-tree,sqlite (default: all three)
  --no-real-tree    leave out the real node_modules tree (same as dropping real-tree from --parts)
  --tools LIST      comma-separated: lifeboat,restic,borg (default: lifeboat + restic/borg found on PATH)
  --work DIR        working directory (default /tmp/lifeboat-bench)
  --runs N          repeat every sequence N times and report medians (default 1)
  --cold | --warm   cache mode of every case without its own :cold/:warm (default: cold when root)
  --max-load L      before measuring, wait while the 1-minute load average is above L (default 1.5)
  --max-wait M      minutes to wait for that at most, then measure anyway, recorded (default 20)
  --keep            keep each tool's restored tree (default: deleted after verification)
  --json            print the results document as JSON instead of the tables`;

function parseScales(value) {
  const out = [];
  for (const item of list(value)) {
    const [s, mode, extra] = item.split(':');
    const scale = Number(s);
    if (!Number.isFinite(scale) || scale <= 0 || extra !== undefined || (mode && !['cold', 'warm'].includes(mode)))
      throw new UsageError(`invalid --scales entry ${JSON.stringify(item)} (want F, F:cold or F:warm with F > 0)`);
    if (out.some((o) => o.scale === scale)) throw new UsageError(`scale ${scale} given twice in --scales`);
    out.push({ scale, mode: mode || null, defaultMode: null });
  }
  if (out.length === 0) throw new UsageError('--scales is empty');
  return out;
}

export function parseOptions(argv) {
  const values = parseValues(argv, {
    dataset: { type: 'string' },
    scale: { type: 'string' },
    scales: { type: 'string' },
    seed: { type: 'string' },
    parts: { type: 'string' },
    'no-real-tree': { type: 'boolean' },
    tools: { type: 'string' },
    work: { type: 'string' },
    runs: { type: 'string' },
    cold: { type: 'boolean' },
    warm: { type: 'boolean' },
    'max-load': { type: 'string' },
    'max-wait': { type: 'string' },
    keep: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return { help: true };
  const num = numberReader(values);
  const mode = cacheModeOf(values);
  const given = ['scale', 'scales', 'dataset'].filter((k) => values[k] !== undefined);
  if (given.length > 1) throw new UsageError(`--${given.join(' and --')} are mutually exclusive`);

  const tools = values.tools === undefined ? null : namedList(values.tools, TOOL_NAMES, 'tool');
  let parts = values.parts === undefined ? [...PARTS] : namedList(values.parts, PARTS, 'part');
  if (values['no-real-tree']) parts = parts.filter((p) => p !== 'real-tree');
  if (parts.length === 0) throw new UsageError('nothing to run: every part was left out');

  let scales = DEFAULT_SCALES;
  if (values.scale !== undefined) scales = parseScales(values.scale);
  if (values.scales !== undefined) scales = parseScales(values.scales);
  if (values.scale !== undefined && scales.length > 1) throw new UsageError('--scale takes one value; use --scales');

  return {
    dataset: values.dataset,
    scales,
    seed: num('seed', 42, Number.isInteger),
    parts,
    runs: num('runs', 1, (v) => Number.isInteger(v) && v >= 1),
    tools,
    work: path.resolve(values.work ?? '/tmp/lifeboat-bench'),
    mode,
    maxLoad: num('max-load', 1.5, (v) => Number.isFinite(v) && v > 0),
    maxWaitMinutes: num('max-wait', 20, (v) => Number.isFinite(v) && v >= 0),
    keep: !!values.keep,
    json: !!values.json,
  };
}

/**
 * The cache mode of one case: its own :cold/:warm, else --cold/--warm, else the case's default
 * (scale 0.2 of the default list is warm), else cold when the page cache can be dropped.
 */
export function caseMode({ mode, defaultMode }, opts, canCold) {
  return mode ?? opts.mode ?? defaultMode ?? (canCold ? 'cold' : 'warm');
}
