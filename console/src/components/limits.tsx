/** The limits every level takes (organizations, teams, keys): budgets, rpm/tpm and allowed models. */
import { usd } from '../format';

export interface Limits {
  daily_budget_usd: number | null;
  monthly_budget_usd: number | null;
  total_budget_usd: number | null;
  rpm_limit: number | null;
  tpm_limit: number | null;
  allowed_models: string[];
}

export type LimitsForm = Record<'daily' | 'monthly' | 'total' | 'rpm' | 'tpm' | 'models', string>;

const text = (v: number | null | undefined) => (v === null || v === undefined ? '' : String(v));

export function limitsForm(l?: Partial<Limits>): LimitsForm {
  return {
    daily: text(l?.daily_budget_usd),
    monthly: text(l?.monthly_budget_usd),
    total: text(l?.total_budget_usd),
    rpm: text(l?.rpm_limit),
    tpm: text(l?.tpm_limit),
    models: (l?.allowed_models ?? []).join(', '),
  };
}

/**
 * The API body of the form. Creating (`edit` false): empty fields are left out. Editing: an empty field
 * clears the limit (null) and empty models allow every model.
 */
export function limitsBody(f: LimitsForm, edit: boolean): Partial<Limits> {
  const body: Record<string, unknown> = {};
  const num = (name: keyof Limits, value: string) => {
    if (value.trim() !== '') body[name] = Number(value);
    else if (edit) body[name] = null;
  };
  num('daily_budget_usd', f.daily);
  num('monthly_budget_usd', f.monthly);
  num('total_budget_usd', f.total);
  num('rpm_limit', f.rpm);
  num('tpm_limit', f.tpm);
  const models = f.models
    .split(',')
    .map((m) => m.trim())
    .filter(Boolean);
  if (models.length > 0 || edit) body.allowed_models = models;
  return body as Partial<Limits>;
}

export function LimitFields({
  prefix,
  form,
  onChange,
}: {
  prefix: string;
  form: LimitsForm;
  onChange: (form: LimitsForm) => void;
}) {
  const field = (name: keyof LimitsForm, label: string, extra: Record<string, string>) => (
    <div>
      <label for={`${prefix}-${name}`}>{label}</label>
      <input
        id={`${prefix}-${name}`}
        name={name}
        value={form[name]}
        onInput={(e) => onChange({ ...form, [name]: (e.target as HTMLInputElement).value })}
        {...extra}
      />
    </div>
  );
  const money = { type: 'number', min: '0', step: '0.01', placeholder: 'none' };
  const rate = { type: 'number', min: '1', step: '1', placeholder: 'none' };
  return (
    <>
      {field('daily', 'Daily budget (USD)', money)}
      {field('monthly', 'Monthly budget (USD)', money)}
      {field('total', 'Total budget (USD)', money)}
      {field('rpm', 'Requests per minute', rate)}
      {field('tpm', 'Tokens per minute', rate)}
      {field('models', 'Allowed models', { placeholder: 'all (or gpt-4o-mini, fast)' })}
    </>
  );
}

/** "$5.00 / $100.00 / —" for day / month / total. */
export function budgets(l: Partial<Limits>): string {
  const one = (v: number | null | undefined) => (v === null || v === undefined ? '—' : usd(v));
  return `${one(l.daily_budget_usd)} / ${one(l.monthly_budget_usd)} / ${one(l.total_budget_usd)}`;
}

/** "60 rpm · 10000 tpm", or "—". */
export function rates(l: Partial<Limits>): string {
  const parts = [l.rpm_limit ? `${l.rpm_limit} rpm` : null, l.tpm_limit ? `${l.tpm_limit} tpm` : null].filter(
    Boolean,
  );
  return parts.length > 0 ? parts.join(' · ') : '—';
}

export function models(l: Partial<Limits>): string {
  return !l.allowed_models || l.allowed_models.length === 0 ? 'all' : l.allowed_models.join(', ');
}
