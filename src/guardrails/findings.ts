/**
 * What the guardrails did in one request, kept in a typed slot: read by the usage record (accounting) and
 * the `request.end` log. Entity names, actions, directions, policy names and counts only — never a value.
 */
import { type RequestContext, Slot } from '../core/context.js';

export interface GuardrailFinding {
  policy: string;
  entity: string;
  action: 'mask' | 'redact' | 'block' | 'log_only';
  direction: 'input' | 'output';
  count: number;
}

export const GUARDRAIL_FINDINGS = new Slot<GuardrailFinding[]>('guardrails.findings');

/** Adds one action to the request's tally. */
export function noteFinding(ctx: RequestContext, finding: Omit<GuardrailFinding, 'count'>): void {
  let list = GUARDRAIL_FINDINGS.get(ctx);
  if (!list) {
    list = [];
    GUARDRAIL_FINDINGS.set(ctx, list);
  }
  for (const f of list) {
    if (
      f.entity === finding.entity &&
      f.action === finding.action &&
      f.direction === finding.direction &&
      f.policy === finding.policy
    ) {
      f.count++;
      return;
    }
  }
  list.push({ ...finding, count: 1 });
}

/** Whether a guardrail refused the request (it is recorded although it reached no upstream). */
export function blockedByGuardrail(ctx: RequestContext): boolean {
  return GUARDRAIL_FINDINGS.get(ctx)?.some((f) => f.action === 'block') === true;
}

/** The usage record's `guardrails` column: JSON of the findings, or null when nothing fired. */
export function findingsJson(ctx: RequestContext): string | null {
  const list = GUARDRAIL_FINDINGS.get(ctx);
  return list && list.length > 0 ? JSON.stringify(list) : null;
}
