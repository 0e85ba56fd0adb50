/**
 * Ranges of what an admin may set on a key (DESIGN §7: numeric admin inputs are range-checked, 422 and
 * never a 5xx). They follow the storage: budgets are `numeric(12, 6)` (below one million USD), timestamps
 * must be years 1970–9999 in both PostgreSQL and JavaScript. Used by the admin API schema and the CLI.
 */

/** Largest daily or monthly USD budget of a key (numeric(12, 6) holds up to 999 999.999999). */
export const MAX_KEY_BUDGET_USD = 999_999;
/** Longest grace period of a rotated key: 30 days. */
export const MAX_GRACE_SECONDS = 30 * 86_400;
/** Expiry range accepted (ISO 8601). */
export const MIN_EXPIRY = '1970-01-01T00:00:00Z';
export const MAX_EXPIRY = '9999-12-31T23:59:59Z';

/** The problem with an expiry time, or null when it is a valid time in range. */
export function expiryProblem(value: string): string | null {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) return 'must be an ISO 8601 date-time';
  if (ms < Date.parse(MIN_EXPIRY) || ms > Date.parse(MAX_EXPIRY)) {
    return `must be between ${MIN_EXPIRY} and ${MAX_EXPIRY}`;
  }
  return null;
}

/** The problem with a USD budget, or null when it is in range. */
export function budgetProblem(value: number): string | null {
  if (!Number.isFinite(value) || value < 0 || value > MAX_KEY_BUDGET_USD) {
    return `must be between 0 and ${MAX_KEY_BUDGET_USD} (USD)`;
  }
  return null;
}
