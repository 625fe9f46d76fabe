/**
 * A one-line progress display on a terminal (stderr), redrawn a few times a
 * second: files, bytes, rate and ETA. Silent when stderr is not a terminal.
 *
 * @module
 */

import { formatBytes, formatDuration } from '../util/format.js';

export interface ProgressSnapshot {
  label: string;
  files: number;
  bytes: number;
  totalFiles?: number;
  totalBytes?: number;
}

export class ProgressBar {
  private timer: NodeJS.Timeout | undefined;
  private readonly started = Date.now();
  private drawn = false;

  constructor(
    private readonly read: () => ProgressSnapshot,
    private readonly enabled: boolean,
    private readonly onTick?: (s: ProgressSnapshot, elapsedMs: number) => void,
  ) {}

  start(): this {
    if (this.enabled || this.onTick) {
      this.timer = setInterval(() => this.tick(), this.enabled ? 250 : 1000);
      this.timer.unref();
    }
    return this;
  }

  private tick(): void {
    const s = this.read();
    const elapsed = Date.now() - this.started;
    this.onTick?.(s, elapsed);
    if (!this.enabled) return;
    const rate = elapsed > 0 ? (s.bytes / elapsed) * 1000 : 0;
    let line = `${s.label}  ${s.files}${s.totalFiles !== undefined ? `/${s.totalFiles}` : ''} files  ${formatBytes(s.bytes)}`;
    if (s.totalBytes)
      line += ` / ${formatBytes(s.totalBytes)} (${Math.min(100, Math.floor((s.bytes / s.totalBytes) * 100))}%)`;
    line += `  ${formatBytes(rate)}/s`;
    if (s.totalBytes && rate > 0 && s.bytes < s.totalBytes)
      line += `  ETA ${formatDuration(((s.totalBytes - s.bytes) / rate) * 1000)}`;
    const width = process.stderr.columns || 100;
    process.stderr.write(`\r${line.slice(0, width - 1).padEnd(Math.min(width - 1, 100))}`);
    this.drawn = true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) process.stderr.write('\r\x1b[K');
  }
}
