/** Formatting and CSV helpers (pure; tested in test/console/format.test.ts). */

/**
 * US dollars with 6 decimals, everywhere the console shows money (decision 0237): the precision the gateway
 * records costs in, so a $0.0105 request never reads as "$0.01" next to a "$0.004790" one, and columns line
 * up. Thousands are grouped (`$1,234.500000`).
 */
export function usd(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const text = Math.abs(value).toLocaleString('en-US', {
    minimumFractionDigits: 6,
    maximumFractionDigits: 6,
  });
  return `${value < 0 ? '-' : ''}$${text}`;
}

/** A dollar amount for a chart axis: fewer digits, the axis only gives the scale (`$0.0025`, `$12.5`). */
export function usdTick(value: number): string {
  return `$${Number(value.toPrecision(4)).toLocaleString('en-US', { maximumFractionDigits: 6 })}`;
}

export function count(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value.toLocaleString('en-US');
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function percent(part: number, whole: number): string {
  if (whole === 0) return '—';
  return `${((part / whole) * 100).toFixed(1)}%`;
}

/** `2025-02-18 09:30:12` in UTC. */
export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  return iso.replace('T', ' ').slice(0, 19);
}

/** One CSV field, quoted when it must be (RFC 4180); formulas are defused for spreadsheets. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** CSV text of `rows` with the given columns as its header. */
export function toCsv(columns: readonly string[], rows: ReadonlyArray<Record<string, unknown>>): string {
  const lines = [columns.map(csvField).join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}
