/**
 * Teams and organizations: list (paginated), create, edit limits, delete (a 409 says why not). The global
 * admin manages organizations and teams; an org admin its organization's teams; a team admin sees its team
 * read-only — the page offers only what the admin API allows the signed-in key.
 */
import { useState } from 'preact/hooks';
import { type Actor, api, query } from '../api';
import type { PageProps } from '../app';
import {
  budgets,
  LimitFields,
  type Limits,
  type LimitsForm,
  limitsBody,
  limitsForm,
  models,
  rates,
} from '../components/limits';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { time } from '../format';
import { usePaged } from '../use-paged';

export interface LevelView extends Limits {
  id: string;
  name: string;
  org_id?: string | null;
  created_at: string;
}

type Kind = 'org' | 'team';
const PATH: Record<Kind, string> = { org: '/admin/orgs', team: '/admin/teams' };
const NOUN: Record<Kind, string> = { org: 'organization', team: 'team' };

export function Teams({ actor }: PageProps) {
  return (
    <>
      <PageHeader title="Teams" />
      {actor.role === 'admin' ? <Levels kind="org" actor={actor} /> : null}
      <Levels kind="team" actor={actor} />
    </>
  );
}

function Levels({ kind, actor }: { kind: Kind; actor: Actor }) {
  const [editing, setEditing] = useState<LevelView | null>(null);
  const [actionError, setActionError] = useState<unknown>(null);
  const list = usePaged<LevelView>(`${PATH[kind]}${query({ limit: 50 })}`, []);
  // Organizations: the global admin only. Teams: the global admin and org admins (a team admin reads).
  const manage = actor.role === 'admin' || (kind === 'team' && actor.role === 'org_admin');
  const title = kind === 'org' ? 'Organizations' : 'Teams';
  const remove = async (level: LevelView) => {
    if (!confirm(`Delete ${NOUN[kind]} "${level.name}"?`)) return;
    try {
      await api.delete(`${PATH[kind]}/${level.id}`);
      setActionError(null);
    } catch (err) {
      setActionError(err);
    }
    await list.reload();
  };
  const rows = list.rows ?? [];
  return (
    <section aria-labelledby={`${kind}-title`}>
      <h2 id={`${kind}-title`}>{title}</h2>
      {manage ? <CreateLevel kind={kind} actor={actor} onCreated={list.reload} /> : null}
      {editing ? (
        <EditLevel
          kind={kind}
          level={editing}
          onDone={async () => {
            setEditing(null);
            await list.reload();
          }}
        />
      ) : null}
      <ErrorNote error={list.error ?? actionError} />
      {list.loading && !list.rows ? <Loading /> : null}
      {list.rows && rows.length === 0 ? (
        <Empty title={`No ${title.toLowerCase()} yet`}>
          <p>
            {kind === 'org'
              ? 'Create an organization above to group teams under shared budgets and an org admin key.'
              : 'Create a team above, then create keys in it on the Keys page; its budgets and limits apply to every key of the team.'}
          </p>
        </Empty>
      ) : null}
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">{title}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Id</th>
                {kind === 'team' ? <th scope="col">Organization</th> : null}
                <th scope="col">Budgets (day / month / total)</th>
                <th scope="col">Rate limits</th>
                <th scope="col">Models</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((l) => (
                <tr key={l.id}>
                  <td>{l.name}</td>
                  <td>
                    <code>{l.id}</code>
                  </td>
                  {kind === 'team' ? <td>{l.org_id ?? '—'}</td> : null}
                  <td>{budgets(l)}</td>
                  <td>{rates(l)}</td>
                  <td class="clip">{models(l)}</td>
                  <td>{time(l.created_at)}</td>
                  <td class="row-actions">
                    {manage ? (
                      <>
                        <button type="button" onClick={() => setEditing(l)} aria-label={`Edit ${l.name}`}>
                          Edit
                        </button>
                        <button
                          type="button"
                          class="danger"
                          onClick={() => remove(l)}
                          aria-label={`Delete ${l.name}`}
                        >
                          Delete
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {list.hasMore ? (
        <button type="button" onClick={list.loadMore}>
          Load more {title.toLowerCase()}
        </button>
      ) : null}
    </section>
  );
}

function CreateLevel({ kind, actor, onCreated }: { kind: Kind; actor: Actor; onCreated: () => void }) {
  const [name, setName] = useState('');
  const [orgId, setOrgId] = useState('');
  const [limits, setLimits] = useState<LimitsForm>(limitsForm());
  const [error, setError] = useState<unknown>(null);
  const prefix = `new-${kind}`;
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api.post(PATH[kind], {
        name: name.trim(),
        ...(kind === 'team' && orgId.trim() ? { org_id: orgId.trim() } : {}),
        ...limitsBody(limits, false),
      });
      setName('');
      setOrgId('');
      setLimits(limitsForm());
      setError(null);
      onCreated();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby={`${prefix}-title`}>
      <h3 id={`${prefix}-title`}>Create {NOUN[kind] === 'team' ? 'a team' : 'an organization'}</h3>
      <div class="fields">
        <div>
          <label for={`${prefix}-name`}>{kind === 'team' ? 'Team name' : 'Organization name'}</label>
          <input
            id={`${prefix}-name`}
            value={name}
            required
            maxLength={200}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        {kind === 'team' && actor.role === 'admin' ? (
          <div>
            <label for={`${prefix}-org`}>Organization id</label>
            <input
              id={`${prefix}-org`}
              value={orgId}
              placeholder="none (standalone)"
              onInput={(e) => setOrgId((e.target as HTMLInputElement).value)}
            />
          </div>
        ) : null}
        <LimitFields prefix={prefix} form={limits} onChange={setLimits} />
      </div>
      <button type="submit">Create {NOUN[kind]}</button>
      <ErrorNote error={error} />
    </form>
  );
}

function EditLevel({ kind, level, onDone }: { kind: Kind; level: LevelView; onDone: () => void }) {
  const [name, setName] = useState(level.name);
  const [limits, setLimits] = useState<LimitsForm>(limitsForm(level));
  const [error, setError] = useState<unknown>(null);
  const prefix = `edit-${kind}`;
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      await api.patch(`${PATH[kind]}/${level.id}`, { name: name.trim(), ...limitsBody(limits, true) });
      setError(null);
      onDone();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby={`${prefix}-title`}>
      <h3 id={`${prefix}-title`}>
        Edit {NOUN[kind]} “{level.name}”
      </h3>
      <p class="muted">An empty field clears the limit (inherited from the level above, if any).</p>
      <div class="fields">
        <div>
          <label for={`${prefix}-name`}>Name</label>
          <input
            id={`${prefix}-name`}
            value={name}
            required
            maxLength={200}
            onInput={(e) => setName((e.target as HTMLInputElement).value)}
          />
        </div>
        <LimitFields prefix={prefix} form={limits} onChange={setLimits} />
      </div>
      <button type="submit">Save {NOUN[kind]}</button>{' '}
      <button type="button" onClick={onDone}>
        Cancel
      </button>
      <ErrorNote error={error} />
    </form>
  );
}
