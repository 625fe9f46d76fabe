import { ErrorCode, LifeboatError } from '../../../errors/index.js';

/**
 * Log sequence numbers and WAL file names. An LSN is a 64-bit position
 * (`16/B374D848`); a segment file `TTTTTTTTXXXXXXXXYYYYYYYY` names timeline T
 * and segment number X * (4 GiB / segment size) + Y.
 */
export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;

/** A WAL position written as PostgreSQL writes it (`0/3000060`), as a number. */
export function parseLsn(text: string): bigint {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!m)
    throw new LifeboatError(ErrorCode.Usage, `"${text}" is not an LSN`, {
      hint: 'write an LSN as PostgreSQL shows it, e.g. 0/3000060 (pg_current_wal_lsn())',
    });
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

/** A WAL position as PostgreSQL writes it (`0/3000060`). */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

function hex8(n: number | bigint): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

function segmentsPerId(segmentSize: number): bigint {
  return 0x100000000n / BigInt(segmentSize);
}

/** The segment number holding `lsn`. */
export function segmentOf(lsn: bigint, segmentSize: number): bigint {
  return lsn / BigInt(segmentSize);
}

export function segmentName(timeline: number, segno: bigint, segmentSize: number): string {
  const per = segmentsPerId(segmentSize);
  return `${hex8(timeline)}${hex8(segno / per)}${hex8(segno % per)}`;
}

export interface ParsedSegment {
  timeline: number;
  segno: bigint;
}

/** A complete segment's name, or undefined for anything else (history, .partial, .backup). */
export function parseSegmentName(name: string, segmentSize: number): ParsedSegment | undefined {
  const m = SEGMENT.exec(name);
  if (!m) return undefined;
  return {
    timeline: parseInt(m[1]!, 16),
    segno: BigInt(`0x${m[2]}`) * segmentsPerId(segmentSize) + BigInt(`0x${m[3]}`),
  };
}

export function historyTimeline(name: string): number | undefined {
  const m = HISTORY.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
}

export function historyName(timeline: number): string {
  return `${hex8(timeline)}.history`;
}

/** The names PostgreSQL archives and asks back: segments, partial segments, history and backup-history files. */
export function isWalFileName(name: string): boolean {
  return /^[0-9A-F]{24}(\.partial|\.[0-9A-F]{8}\.backup)?$/.test(name) || HISTORY.test(name);
}

/** One line of a timeline history file: `parent TLI, switch LSN, reason`. */
export interface TimelineSwitch {
  parent: number;
  /** The first LSN of the child timeline. */
  switchLsn: bigint;
}

/** Parse a `0000000N.history` file: the ancestry of timeline N, oldest first. */
export function parseHistory(text: string): TimelineSwitch[] {
  const out: TimelineSwitch[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const [tli, lsn] = t.split(/\s+/);
    if (!tli || !lsn || !/^\d+$/.test(tli)) continue;
    out.push({ parent: Number(tli), switchLsn: parseLsn(lsn) });
  }
  return out;
}
