/** Medians with min–max over repeats, and the formatting the report uses. */

export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function spread(values: Array<number | null | undefined>): Spread | null {
  const v = values
    .filter((x): x is number => typeof x === 'number' && Number.isFinite(x))
    .sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = v.length >> 1;
  const median = v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
  return { median, min: v[0] as number, max: v[v.length - 1] as number, n: v.length };
}

/** "1.234 (1.1–1.5)" with `digits` decimals; "—" when there is nothing. */
export function fmt(s: Spread | null, digits = 3): string {
  if (!s) return '—';
  const f = (x: number) => x.toFixed(digits);
  return s.n > 1 && s.min !== s.max ? `${f(s.median)} (${f(s.min)}–${f(s.max)})` : f(s.median);
}
