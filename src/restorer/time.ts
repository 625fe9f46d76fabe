/** Nanoseconds since the epoch (decimal string, as trees store them) → seconds for utimes. */
export function nsToSeconds(ns: string | undefined): number {
  if (!ns || !/^-?\d+$/.test(ns)) return 0;
  const big = BigInt(ns);
  return Number(big / 1_000_000_000n) + Number(big % 1_000_000_000n) / 1e9;
}
