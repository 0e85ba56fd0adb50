/**
 * Extracts the metric names a PromQL expression reads, so dashboards and rules can be checked against
 * what the gateway exports. Label matchers, ranges, strings, grouping clauses and function calls are
 * removed first; what is left that is not a keyword or number is a metric name.
 */
const KEYWORDS = new Set([
  'and',
  'or',
  'unless',
  'bool',
  'offset',
  'by',
  'without',
  'on',
  'ignoring',
  'inf',
  'nan',
]);

export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice((match.index ?? 0) + name.length).trimStart();
    if (after.startsWith('(')) continue; // a function
    if (KEYWORDS.has(name.toLowerCase())) continue;
    if (/^\d/.test(name)) continue;
    const before = stripped.slice(0, match.index ?? 0);
    if (/\d\.?$/.test(before) || /\d[eE]$/.test(before)) continue; // part of a number (1e-9)
    names.add(name);
  }
  return [...names];
}
