/** Keys: list, create (the new key shown once), rotate, revoke — the keys admin API. */
import { useState } from 'preact/hooks';
import { api, query } from '../api';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { time, usd } from '../format';
import { useLoad } from '../use-load';

export interface KeyView {
  id: string;
  name: string;
  key_prefix: string;
  user_id: string;
  tier: string;
  allowed_models: string[];
  daily_budget_usd: number | null;
  monthly_budget_usd: number | null;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  created_at: string;
}

export function Keys() {
  const [showRevoked, setShowRevoked] = useState(false);
  const [secret, setSecret] = useState<{ name: string; key: string; what: string } | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const { data, error, loading, reload } = useLoad(
    () => api.get<{ data: KeyView[] }>(`/admin/keys${query({ include_revoked: showRevoked || undefined })}`),
    [showRevoked],
  );
  const act = async (what: () => Promise<void>) => {
    try {
      await what();
      setActionError(null);
    } catch (err) {
      setActionError(err);
    }
    await reload();
  };
  const rotate = (k: KeyView) =>
    act(async () => {
      if (!confirm(`Rotate "${k.name}"? The old key keeps working for a grace period.`)) return;
      const made = await api.post<{ key: string; name: string }>(`/admin/keys/${k.id}/rotate`, {});
      setSecret({ name: made.name, key: made.key, what: 'rotated' });
    });
  const revoke = (k: KeyView) =>
    act(async () => {
      if (!confirm(`Revoke "${k.name}"? Requests with it fail at once.`)) return;
      await api.post(`/admin/keys/${k.id}/revoke`, {});
    });
  const keys = data?.data ?? [];
  return (
    <>
      <PageHeader title="Keys">
        <label class="check">
          <input
            type="checkbox"
            checked={showRevoked}
            onChange={(e) => setShowRevoked((e.target as HTMLInputElement).checked)}
          />
          Show revoked
        </label>
      </PageHeader>
      {secret ? <NewSecret {...secret} onDone={() => setSecret(null)} /> : null}
      <CreateKey
        onCreated={async (made) => {
          setSecret({ name: made.name, key: made.key, what: 'created' });
          await reload();
        }}
      />
      <ErrorNote error={error ?? actionError} />
      {loading && !data ? <Loading /> : null}
      {data && keys.length === 0 ? (
        <Empty title="No keys yet">
          <p>
            Create a key above, or from a shell: <code>llm-gateway keys create --name my-app --user me</code>.
            Clients send it as <code>Authorization: Bearer sk-gw-…</code>.
          </p>
        </Empty>
      ) : null}
      {keys.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">API keys</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">User</th>
                <th scope="col">Tier</th>
                <th scope="col">Budgets (day / month)</th>
                <th scope="col">Models</th>
                <th scope="col">Created</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.key_prefix}…</code>
                  </td>
                  <td>{k.user_id}</td>
                  <td>{k.tier}</td>
                  <td>
                    {k.daily_budget_usd === null ? '—' : usd(k.daily_budget_usd)} /{' '}
                    {k.monthly_budget_usd === null ? '—' : usd(k.monthly_budget_usd)}
                  </td>
                  <td>{k.allowed_models.length === 0 ? 'all' : k.allowed_models.join(', ')}</td>
                  <td>{time(k.created_at)}</td>
                  <td>{time(k.last_used_at)}</td>
                  <td>
                    {k.revoked_at ? 'revoked' : k.expires_at ? `expires ${time(k.expires_at)}` : 'active'}
                  </td>
                  <td class="row-actions">
                    {k.revoked_at ? null : (
                      <>
                        <button type="button" onClick={() => rotate(k)} aria-label={`Rotate ${k.name}`}>
                          Rotate
                        </button>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => revoke(k)}
                          aria-label={`Revoke ${k.name}`}
                        >
                          Revoke
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </>
  );
}

function NewSecret({
  name,
  key,
  what,
  onDone,
}: {
  name: string;
  key: string;
  what: string;
  onDone: () => void;
}) {
  return (
    <section class="secret" role="status" aria-label="Key created">
      <h2>
        Key “{name}” {what}
      </h2>
      <p>Copy it now: the gateway keeps only its hash and will not show it again.</p>
      <label for="new-key">New key</label>
      <input
        id="new-key"
        readOnly
        value={key}
        onFocus={(e) => (e.target as HTMLInputElement).select()}
        data-testid="new-key"
      />
      <button type="button" onClick={() => navigator.clipboard?.writeText(key)}>
        Copy
      </button>
      <button type="button" onClick={onDone}>
        Done
      </button>
    </section>
  );
}

function CreateKey({ onCreated }: { onCreated: (made: { name: string; key: string }) => void }) {
  const [form, setForm] = useState({ name: '', user_id: '', tier: '', models: '', daily: '', monthly: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const field = (name: keyof typeof form) => ({
    id: `key-${name}`,
    name,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value }),
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      const models = form.models
        .split(',')
        .map((m) => m.trim())
        .filter(Boolean);
      const made = await api.post<{ name: string; key: string }>('/admin/keys', {
        name: form.name.trim(),
        user_id: form.user_id.trim(),
        ...(form.tier.trim() ? { tier: form.tier.trim() } : {}),
        ...(models.length > 0 ? { allowed_models: models } : {}),
        ...(form.daily ? { daily_budget_usd: Number(form.daily) } : {}),
        ...(form.monthly ? { monthly_budget_usd: Number(form.monthly) } : {}),
      });
      setForm({ name: '', user_id: '', tier: '', models: '', daily: '', monthly: '' });
      setError(null);
      onCreated(made);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby="create-key-title">
      <h2 id="create-key-title">Create a key</h2>
      <div class="fields">
        <div>
          <label for="key-name">Name</label>
          <input {...field('name')} required maxLength={128} placeholder="my-app" />
        </div>
        <div>
          <label for="key-user_id">User</label>
          <input {...field('user_id')} required maxLength={128} placeholder="alice" />
        </div>
        <div>
          <label for="key-tier">Tier</label>
          <input {...field('tier')} placeholder="free" />
        </div>
        <div>
          <label for="key-models">Allowed models</label>
          <input {...field('models')} placeholder="all (or gpt-4o-mini, fast)" />
        </div>
        <div>
          <label for="key-daily">Daily budget (USD)</label>
          <input {...field('daily')} type="number" min="0" step="0.01" />
        </div>
        <div>
          <label for="key-monthly">Monthly budget (USD)</label>
          <input {...field('monthly')} type="number" min="0" step="0.01" />
        </div>
      </div>
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create key'}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
