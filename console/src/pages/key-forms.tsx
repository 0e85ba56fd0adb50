/** The key forms: create (in a team, with a role) and edit (PATCH /admin/keys/:id). */
import { useState } from 'preact/hooks';
import { type Actor, api } from '../api';
import { LimitFields, type LimitsForm, limitsBody, limitsForm } from '../components/limits';
import { ErrorNote } from '../components/ui';
import type { KeyView } from './keys';

export interface TeamOption {
  id: string;
  name: string;
  org_id?: string | null;
}

/** The roles the signed-in key may grant (only below its own). */
function grantable(actor: Actor): string[] {
  if (actor.role === 'admin') return ['user', 'team_admin', 'org_admin'];
  if (actor.role === 'org_admin') return ['user', 'team_admin'];
  return ['user'];
}

function TeamSelect({
  id,
  value,
  teams,
  onChange,
  none,
}: {
  id: string;
  value: string;
  teams: TeamOption[];
  onChange: (v: string) => void;
  none: string;
}) {
  return (
    <div>
      <label for={id}>Team</label>
      <select id={id} value={value} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
        <option value="">{none}</option>
        {teams.map((t) => (
          <option key={t.id} value={t.id}>
            {t.name}
          </option>
        ))}
      </select>
    </div>
  );
}

export function CreateKey({
  teams,
  actor,
  onCreated,
}: {
  teams: TeamOption[];
  actor: Actor;
  onCreated: (made: { name: string; key: string }) => void;
}) {
  const blank = { name: '', user_id: '', tier: '', team: '', role: 'user', org: '' };
  const [form, setForm] = useState(blank);
  const [limits, setLimits] = useState<LimitsForm>(limitsForm());
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
      const made = await api.post<{ name: string; key: string }>('/admin/keys', {
        name: form.name.trim(),
        ...(form.user_id.trim() ? { user_id: form.user_id.trim() } : {}),
        ...(form.team ? { team_id: form.team } : {}),
        ...(form.org.trim() ? { org_id: form.org.trim() } : {}),
        ...(form.role !== 'user' ? { role: form.role } : {}),
        ...(form.tier.trim() ? { tier: form.tier.trim() } : {}),
        ...limitsBody(limits, false),
      });
      setForm(blank);
      setLimits(limitsForm());
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
          <input {...field('user_id')} maxLength={128} placeholder={form.team ? 'optional' : 'alice'} />
        </div>
        {teams.length > 0 ? (
          <TeamSelect
            id="key-team"
            value={form.team}
            teams={teams}
            none={actor.role === 'team_admin' ? 'My team' : 'No team'}
            onChange={(team) => setForm({ ...form, team })}
          />
        ) : null}
        {actor.role === 'admin' ? (
          <div>
            <label for="key-org">Organization id</label>
            <input {...field('org')} placeholder="from the team" />
          </div>
        ) : null}
        <div>
          <label for="key-role">Role</label>
          <select
            id="key-role"
            value={form.role}
            onChange={(e) => setForm({ ...form, role: (e.target as HTMLSelectElement).value })}
          >
            {grantable(actor).map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label for="key-tier">Tier</label>
          <input {...field('tier')} placeholder="free" />
        </div>
        <LimitFields prefix="key" form={limits} onChange={setLimits} />
      </div>
      <button type="submit" disabled={busy}>
        {busy ? 'Creating…' : 'Create key'}
      </button>
      <ErrorNote error={error} />
    </form>
  );
}

/** `2026-12-04T10:00` (datetime-local, local time) ↔ ISO. */
function localInput(iso: string | null): string {
  if (!iso) return '';
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function EditKey({
  keyView,
  teams,
  actor,
  onDone,
}: {
  keyView: KeyView;
  teams: TeamOption[];
  actor: Actor;
  onDone: () => void;
}) {
  const [name, setName] = useState(keyView.name);
  const [team, setTeam] = useState(keyView.team_id ?? '');
  const [tier, setTier] = useState(keyView.tier);
  const [expires, setExpires] = useState(localInput(keyView.expires_at));
  const [limits, setLimits] = useState<LimitsForm>(limitsForm(keyView));
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const teamId = team || null;
      await api.patch(`/admin/keys/${keyView.id}`, {
        name: name.trim(),
        ...(teamId !== keyView.team_id ? { team_id: teamId } : {}),
        ...(tier.trim() && tier.trim() !== keyView.tier ? { tier: tier.trim() } : {}),
        // Only when changed: the field holds minutes, so sending it back moved the expiry by its seconds.
        ...(expires !== localInput(keyView.expires_at)
          ? { expires_at: expires ? new Date(expires).toISOString() : null }
          : {}),
        ...limitsBody(limits, true),
      });
      setError(null);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby="edit-key-title">
      <h2 id="edit-key-title">Edit key “{keyView.name}”</h2>
      <p class="muted">An empty field clears the limit (the team's and organization's still apply).</p>
      <div class="fields">
        <div>
          <label for="edit-key-name">Key name</label>
          <input
            id="edit-key-name"
            value={name}
            required
            maxLength={200}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        {teams.length > 0 && actor.role !== 'team_admin' ? (
          <TeamSelect id="edit-key-team" value={team} teams={teams} none="No team" onChange={setTeam} />
        ) : null}
        <div>
          <label for="edit-key-tier">Key tier</label>
          <input
            id="edit-key-tier"
            value={tier}
            onInput={(e) => setTier((e.target as HTMLInputElement).value)}
          />
        </div>
        <div>
          <label for="edit-key-expires">Expires (your local time)</label>
          <input
            id="edit-key-expires"
            type="datetime-local"
            value={expires}
            onInput={(e) => setExpires((e.target as HTMLInputElement).value)}
          />
        </div>
        <LimitFields prefix="edit-key" form={limits} onChange={setLimits} />
      </div>
      <button type="submit">Save key</button>{' '}
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
