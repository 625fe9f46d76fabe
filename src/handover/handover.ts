import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { LoadedConfig } from '../config/load.js';
import { collectHandover, type CollectOptions } from './collect.js';
import type { Inventory } from './inventory.js';
import { throwIfInterrupted } from '../util/interrupt.js';
import { keysBlocks } from './keys-page.js';
import { envRedactor, referencedVariables, type Redactor } from './redact.js';
import { renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import { renderRestoreScript } from './render-script.js';
import { runbookBlocks, runbookTitle } from './runbook.js';
import { CHECKSUMS, preparePackDir, writePack, type PackFile, type WrittenFile } from './write-pack.js';

/** Where `handover` writes its pack and what it includes. */
export interface HandoverOptions extends Omit<CollectOptions, 'recoveryKey'> {
  /** The pack directory: new or empty. */
  out: string;
  /** Replace an earlier pack's files in `out`. */
  force?: boolean;
  /** Also write each repository's recovery key page: the pack then holds a secret. */
  includeRecoveryKey?: boolean;
  /**
   * Stops before the next repository is read or before the pack is written: it rejects with
   * LifeboatError `interrupted` and writes no pack file. Handover only reads repositories.
   */
  signal?: AbortSignal;
}

/** The pack written: its directory, files and inventory; `ok` when every repository could be read. */
export interface HandoverResult {
  dir: string;
  files: WrittenFile[];
  inventory: Inventory;
  /** Files already in `out` that are not part of the pack (only with `force`). */
  otherFiles: string[];
  /** Every configured repository could be read. */
  ok: boolean;
}

const FIXED = ['RUNBOOK.md', 'RUNBOOK.html', 'inventory.json', 'restore-commands.sh', 'keys.md'];

/**
 * `lifeboat handover`: the doomsday pack. Reads lifeboat.yaml and every
 * repository it names, then writes the runbook (Markdown and printable HTML),
 * inventory.json, keys.md, restore-commands.sh and SHA256SUMS. An unreachable
 * repository is described as such and makes `ok` false; the pack is still
 * written.
 */
export async function handover(loaded: LoadedConfig, options: HandoverOptions): Promise<HandoverResult> {
  const dir = path.resolve(options.out);
  // Refuse a used directory before opening any repository.
  const otherFiles = await preparePackDir(dir, FIXED, Boolean(options.force));
  const collected = await collectHandover(loaded, { ...options, recoveryKey: Boolean(options.includeRecoveryKey) });
  const redact = envRedactor(referencedVariables(await readFile(loaded.file, 'utf8').catch(() => '')), options.env);
  const inventory = redactDeep(collected.inventory, redact);
  for (const r of inventory.repositories)
    if (collected.recoveryKeys.has(r.name)) r.recoveryKeyFile = `recovery-key-${r.name}.txt`;
  if (otherFiles.length)
    inventory.warnings.push(
      `${dir} also holds files that are not part of this pack (not covered by ${CHECKSUMS}): ${otherFiles.join(', ')}`,
    );

  const keyPages: PackFile[] = inventory.repositories
    .filter((r) => r.recoveryKeyFile)
    .map((r) => ({ name: r.recoveryKeyFile!, content: collected.recoveryKeys.get(r.name)!, secret: true }));
  const listing = [...FIXED, ...keyPages.map((k) => k.name), CHECKSUMS];
  const runbook = runbookBlocks(inventory, listing);
  const texts: PackFile[] = [
    { name: 'RUNBOOK.md', content: renderMarkdown(runbook) },
    { name: 'RUNBOOK.html', content: renderHtml(runbookTitle(inventory), runbook) },
    { name: 'inventory.json', content: `${JSON.stringify(inventory, null, 2)}\n` },
    { name: 'restore-commands.sh', content: renderRestoreScript(inventory), executable: true },
    { name: 'keys.md', content: renderMarkdown(keysBlocks(inventory)) },
  ];
  throwIfInterrupted(options.signal, 'no pack file was written');
  const files = await writePack(dir, [...texts.map((f) => ({ ...f, content: redact(f.content) })), ...keyPages]);
  return { dir, files, inventory, otherFiles, ok: inventory.repositories.every((r) => r.reachable) };
}

function redactDeep<T>(value: T, redact: Redactor): T {
  if (typeof value === 'string') return redact(value) as T;
  if (Array.isArray(value)) return value.map((v: unknown) => redactDeep(v, redact)) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactDeep(v, redact)])) as T;
  return value;
}
