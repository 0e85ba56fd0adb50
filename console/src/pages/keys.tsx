/**
 * Keys: list (filtered by team, paginated), create in a team with a role (the new key shown once), edit
 * (PATCH: budgets, limits, models, expiry, team), rotate, revoke — the keys admin API.
 */
import { useRef, useState } from 'preact/hooks';
import { type Actor, api, type ListPage, query } from '../api';
import type { PageProps } from '../app';
import { budgets, type Limits, models, rates } from '../components/limits';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { time } from '../format';
import { useLoad } from '../use-load';
import { usePaged } from '../use-paged';
import { CreateKey, EditKey, type TeamOption } from './key-forms';

export interface KeyView extends Limits {
  id: string;
  name: string;
  key_prefix: string;
  user_id: string | null;
  team_id: string | null;
  org_id: string | null;
  role: 'user' | 'team_admin' | 'org_admin';
  tier: string;
  expires_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
  created_at: string;
}

export function Keys({ actor }: PageProps) {
  const [showRevoked, setShowRevoked] = useState(false);
  const [team, setTeam] = useState('');
  const [editing, setEditing] = useState<KeyView | null>(null);
  const [secret, setSecret] = useState<{ name: string; key: string; what: string } | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const list = usePaged<KeyView>(
    `/admin/keys${query({ include_revoked: showRevoked || undefined, team_id: team, limit: 100 })}`,
    [showRevoked, team],
  );
  const { error, loading, reload } = list;
  const data = list.rows;
  // The teams the signed-in key may place keys in (a team admin: its own).
  const teams =
    useLoad(
      () => api.get<ListPage<TeamOption>>(`/admin/teams${query({ limit: 1000 })}`).then((p) => p.data),
      [],
    ).data ?? [];
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
  const keys = data ?? [];
  return (
    <>
      <PageHeader title="Keys">
        {teams.length > 0 && actor.role !== 'team_admin' ? (
          <>
            <label for="keys-team">Filter by team</label>
            <select
              id="keys-team"
              value={team}
              onChange={(e) => setTeam((e.target as HTMLSelectElement).value)}
            >
              <option value="">All teams</option>
              {teams.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </>
        ) : null}
        <label class="check">
          <input
            type="checkbox"
            checked={showRevoked}
            onChange={(e) => setShowRevoked((e.target as HTMLInputElement).checked)}
          />
          Show revoked
        </label>
      </PageHeader>
      {secret ? (
        <NewSecret
          key={secret.key}
          name={secret.name}
          secret={secret.key}
          what={secret.what}
          onDone={() => setSecret(null)}
        />
      ) : null}
      {editing ? (
        <EditKey
          keyView={editing}
          teams={teams}
          actor={actor}
          onDone={async () => {
            setEditing(null);
            await reload();
          }}
        />
      ) : null}
      <CreateKey
        teams={teams}
        actor={actor}
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
                <th scope="col">Team</th>
                <th scope="col">Role</th>
                <th scope="col">Tier</th>
                <th scope="col">Budgets (day / month / total)</th>
                <th scope="col">Rate limits</th>
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
                  <td>{k.user_id ?? '—'}</td>
                  <td>{teams.find((t) => t.id === k.team_id)?.name ?? k.team_id ?? '—'}</td>
                  <td>{k.role}</td>
                  <td>{k.tier}</td>
                  <td>{budgets(k)}</td>
                  <td>{rates(k)}</td>
                  <td class="clip">{models(k)}</td>
                  <td>{time(k.created_at)}</td>
                  <td>{time(k.last_used_at)}</td>
                  <td>
                    {k.revoked_at ? 'revoked' : k.expires_at ? `expires ${time(k.expires_at)}` : 'active'}
                  </td>
                  <td class="row-actions">
                    {k.revoked_at || !(outranks(actor, k) || k.id === actor.key_id) ? null : (
                      <>
                        {outranks(actor, k) ? (
                          <button type="button" onClick={() => setEditing(k)} aria-label={`Edit ${k.name}`}>
                            Edit
                          </button>
                        ) : null}
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
      {list.hasMore ? (
        <button type="button" onClick={list.loadMore}>
          Load more keys
        </button>
      ) : null}
    </>
  );
}

const RANK = { user: 0, team_admin: 1, org_admin: 2, admin: 3 } as const;

/**
 * The admin API lets an org or team admin change only keys below its own rank (rotate and revoke: its own
 * key too); the page offers nothing else.
 */
function outranks(actor: Actor, k: KeyView): boolean {
  return actor.role === 'admin' || RANK[k.role] < RANK[actor.role];
}

function NewSecret({
  name,
  secret: key,
  what,
  onDone,
}: {
  name: string;
  /** The new key (`key` is Preact's own prop: a new secret is a new component, its state reset). */
  secret: string;
  what: string;
  onDone: () => void;
}) {
  const field = useRef<HTMLInputElement>(null);
  const [copied, setCopied] = useState<string | null>(null);
  // The Clipboard API exists only in secure contexts: a console served over plain HTTP on another host than
  // localhost has none, and the button used to do nothing at all. There the selected field is copied.
  const copy = async () => {
    try {
      if (navigator.clipboard) {
        await navigator.clipboard.writeText(key);
        setCopied('Copied.');
        return;
      }
    } catch {
      // Refused (no permission): fall back to copying the selection.
    }
    field.current?.focus();
    field.current?.select();
    const done = typeof document.execCommand === 'function' && document.execCommand('copy');
    setCopied(done ? 'Copied.' : 'Not copied: the key is selected, press Ctrl+C (⌘C) to copy it.');
  };
  return (
    <section class="secret" role="status" aria-label="Key created">
      <h2>
        Key “{name}” {what}
      </h2>
      <p>Copy it now: the gateway keeps only its hash and will not show it again.</p>
      <label for="new-key">New key</label>
      <input
        id="new-key"
        ref={field}
        readOnly
        value={key}
        onFocus={(e) => (e.target as HTMLInputElement).select()}
        data-testid="new-key"
      />
      <button type="button" onClick={copy}>
        Copy
      </button>
      {copied ? <span class="muted"> {copied} </span> : null}
      <button type="button" onClick={onDone}>
        Done
      </button>
    </section>
  );
}
