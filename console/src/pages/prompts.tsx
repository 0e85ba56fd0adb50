/**
 * Prompts: the list with labels and latest version; one prompt's versions; the diff of two versions;
 * moving a label (PUT …/labels/:label); a new version; a new prompt — the prompt admin API (global admin).
 */
import { useState } from 'preact/hooks';
import { api, type ListPage, query } from '../api';
import { Empty, ErrorNote, Loading, PageHeader } from '../components/ui';
import { time } from '../format';
import { useLoad } from '../use-load';

interface PromptSummary {
  id: string;
  archived: boolean;
  latest_version: number;
  labels: Record<string, number>;
  created_at: string;
}

interface Message {
  role: string;
  content: string;
}

interface PromptVersion {
  version: number;
  messages: Message[];
  model: string | null;
  note: string | null;
  created_at: string;
}

interface VersionDiff {
  changed: Record<string, { from: unknown; to: unknown }>;
  messages: { op: ' ' | '+' | '-'; line: string }[];
}

const labelsOf = (p: PromptSummary) =>
  Object.entries(p.labels)
    .map(([label, v]) => `${label} → v${v}`)
    .join(', ') || '—';

export function Prompts() {
  const [selected, setSelected] = useState<string | null>(null);
  const [created, setCreated] = useState<string | null>(null);
  const list = useLoad(() => api.get<ListPage<PromptSummary>>('/admin/prompts?all=true'), []);
  const prompts = list.data?.data ?? [];
  const current = prompts.find((p) => p.id === selected) ?? null;
  return (
    <>
      <PageHeader title="Prompts">
        <button type="button" onClick={list.reload}>
          Refresh
        </button>
      </PageHeader>
      <PromptForm
        onSaved={(message) => {
          setCreated(message);
          void list.reload();
        }}
      />
      {created ? <p role="status">{created}</p> : null}
      <ErrorNote error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && prompts.length === 0 ? (
        <Empty title="No prompts yet">
          <p>
            Create one above (or <code>POST /admin/prompts</code>), point a label such as{' '}
            <code>production</code> at a version, then send <code>{'"prompt": {"id": …, "label": …}'}</code>{' '}
            in a chat request instead of messages.
          </p>
        </Empty>
      ) : null}
      {prompts.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Prompts</caption>
            <thead>
              <tr>
                <th scope="col">Prompt</th>
                <th scope="col">Labels</th>
                <th scope="col">Latest version</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {prompts.map((p) => (
                <tr key={p.id} aria-selected={p.id === selected}>
                  <td>
                    <code>{p.id}</code> {p.archived ? <span class="badge">archived</span> : null}
                  </td>
                  <td>{labelsOf(p)}</td>
                  <td class="num">v{p.latest_version}</td>
                  <td>{time(p.created_at)}</td>
                  <td>
                    <button
                      type="button"
                      onClick={() => setSelected(p.id)}
                      aria-label={`Versions of ${p.id}`}
                    >
                      Versions
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {current ? <PromptDetail key={current.id} prompt={current} onChanged={list.reload} /> : null}
    </>
  );
}

function PromptDetail({ prompt, onChanged }: { prompt: PromptSummary; onChanged: () => void }) {
  const [saved, setSaved] = useState<string | null>(null);
  const versions = useLoad(
    () => api.get<ListPage<PromptVersion>>(`/admin/prompts/${prompt.id}/versions`),
    [prompt.id, prompt.latest_version],
  );
  const rows = versions.data?.data ?? [];
  return (
    <section aria-labelledby="prompt-detail">
      <h2 id="prompt-detail" tabIndex={-1}>
        Prompt <code>{prompt.id}</code>
      </h2>
      <ErrorNote error={versions.error} />
      {rows.length > 0 ? (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Versions of {prompt.id}</caption>
            <thead>
              <tr>
                <th scope="col">Version</th>
                <th scope="col">Labels</th>
                <th scope="col">Model</th>
                <th scope="col">Note</th>
                <th scope="col">First message</th>
                <th scope="col">Created</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((v) => (
                <tr key={v.version}>
                  <td class="num">v{v.version}</td>
                  <td>
                    {Object.entries(prompt.labels)
                      .filter(([, n]) => n === v.version)
                      .map(([l]) => l)
                      .join(', ') || '—'}
                  </td>
                  <td>{v.model ?? 'the request’s'}</td>
                  <td class="clip">{v.note ?? ''}</td>
                  <td class="clip">{v.messages[0]?.content ?? ''}</td>
                  <td>{time(v.created_at)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <MoveLabel prompt={prompt} versions={rows} onMoved={onChanged} />
      {rows.length > 1 ? <Diff prompt={prompt} versions={rows} /> : null}
      {/* Starts from the latest version's messages: mounted once the versions are there, anew for each. */}
      {versions.data ? (
        <PromptForm
          key={rows[0]?.version ?? 0}
          prompt={prompt}
          base={rows[0]}
          onSaved={(message) => {
            setSaved(message);
            onChanged();
          }}
        />
      ) : null}
      {saved ? <p role="status">{saved}</p> : null}
    </section>
  );
}

function VersionSelect(props: {
  id: string;
  label: string;
  value: string;
  versions: PromptVersion[];
  onChange: (v: string) => void;
}) {
  return (
    <div>
      <label for={props.id}>{props.label}</label>
      <select
        id={props.id}
        value={props.value}
        onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      >
        {props.versions.map((v) => (
          <option key={v.version} value={String(v.version)}>
            v{v.version}
          </option>
        ))}
      </select>
    </div>
  );
}

function MoveLabel(props: { prompt: PromptSummary; versions: PromptVersion[]; onMoved: () => void }) {
  const [label, setLabel] = useState('production');
  const [version, setVersion] = useState(String(props.prompt.latest_version));
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: Event) => {
    event.preventDefault();
    try {
      const moved = await api.put<{ previous: number | null }>(
        `/admin/prompts/${props.prompt.id}/labels/${encodeURIComponent(label.trim())}`,
        { version: Number(version) },
      );
      setResult(
        `${label.trim()} now points at v${version}${moved.previous ? ` (was v${moved.previous})` : ''}.`,
      );
      setError(null);
      props.onMoved();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby="move-label-title">
      <h3 id="move-label-title">Move a label</h3>
      <div class="fields">
        <div>
          <label for="label-name">Label</label>
          <input
            id="label-name"
            value={label}
            required
            list="label-names"
            onInput={(e) => setLabel((e.target as HTMLInputElement).value)}
          />
          <datalist id="label-names">
            {Object.keys(props.prompt.labels).map((l) => (
              <option key={l} value={l} />
            ))}
          </datalist>
        </div>
        <VersionSelect
          id="label-version"
          label="To version"
          value={version}
          versions={props.versions}
          onChange={setVersion}
        />
      </div>
      <button type="submit">Move label</button>
      {result ? <p role="status">{result}</p> : null}
      <ErrorNote error={error} />
    </form>
  );
}

function Diff({ prompt, versions }: { prompt: PromptSummary; versions: PromptVersion[] }) {
  const [from, setFrom] = useState(String(versions[1]?.version ?? 1));
  const [to, setTo] = useState(String(versions[0]?.version ?? 1));
  const diff = useLoad(
    () => api.get<VersionDiff>(`/admin/prompts/${prompt.id}/diff${query({ from, to })}`),
    [prompt.id, from, to],
  );
  return (
    <section aria-labelledby="diff-title" class="panel">
      <h3 id="diff-title">Compare versions</h3>
      <div class="filters">
        <VersionSelect id="diff-from" label="From" value={from} versions={versions} onChange={setFrom} />
        <VersionSelect id="diff-to" label="To" value={to} versions={versions} onChange={setTo} />
      </div>
      <ErrorNote error={diff.error} />
      {diff.data ? (
        <>
          {Object.entries(diff.data.changed).map(([field, c]) => (
            <p key={field}>
              <strong>{field}</strong>: {JSON.stringify(c.from)} → {JSON.stringify(c.to)}
            </p>
          ))}
          <section class="diff" aria-label={`Diff v${from} to v${to}`}>
            {diff.data.messages.map((l, i) => (
              <div key={i} class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>
                {l.op} {l.line}
              </div>
            ))}
          </section>
        </>
      ) : null}
    </section>
  );
}

/** A new prompt (no `prompt`), or the next version of one (starting from `base`). */
function PromptForm({
  prompt,
  base,
  onSaved,
}: {
  prompt?: PromptSummary;
  base?: PromptVersion;
  onSaved: (message: string) => void;
}) {
  const prefix = prompt ? 'version' : 'prompt';
  const text = (role: string) => base?.messages.find((m) => m.role === role)?.content ?? '';
  const [form, setForm] = useState({
    id: '',
    system: text('system'),
    user: text('user'),
    model: '',
    note: '',
  });
  const [error, setError] = useState<unknown>(null);
  const set = (name: keyof typeof form) => ({
    id: `${prefix}-${name}`,
    value: form[name],
    onInput: (e: Event) => setForm({ ...form, [name]: (e.target as HTMLInputElement).value }),
  });
  const submit = async (event: Event) => {
    event.preventDefault();
    const messages = [
      ...(form.system.trim() ? [{ role: 'system', content: form.system }] : []),
      ...(form.user.trim() ? [{ role: 'user', content: form.user }] : []),
    ];
    const body = {
      messages,
      ...(form.model.trim() ? { model: form.model.trim() } : {}),
      ...(form.note.trim() ? { note: form.note.trim() } : {}),
    };
    try {
      const made = prompt
        ? await api.post<{ version: number }>(`/admin/prompts/${prompt.id}/versions`, body)
        : await api.post<{ version: number }>('/admin/prompts', { id: form.id.trim(), ...body });
      setError(null);
      if (!prompt) setForm({ id: '', system: '', user: '', model: '', note: '' });
      onSaved(`Saved ${prompt ? prompt.id : form.id.trim()} v${made.version}.`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="inline-form" onSubmit={submit} aria-labelledby={`${prefix}-title`}>
      <h3 id={`${prefix}-title`}>{prompt ? `New version of ${prompt.id}` : 'Create a prompt'}</h3>
      <div class="fields">
        {prompt ? null : (
          <div>
            <label for="prompt-id">Prompt id</label>
            <input {...set('id')} required placeholder="support-answer" />
          </div>
        )}
        <div>
          <label for={`${prefix}-system`}>System message</label>
          <textarea {...set('system')} placeholder="You are a support agent for {{product}}." />
        </div>
        <div>
          <label for={`${prefix}-user`}>User message</label>
          <textarea {...set('user')} placeholder="{{question}}" />
        </div>
        <div>
          <label for={`${prefix}-model`}>Model</label>
          <input {...set('model')} placeholder="the request's" />
        </div>
        <div>
          <label for={`${prefix}-note`}>Note</label>
          <input {...set('note')} placeholder="what changed" />
        </div>
      </div>
      <button type="submit">{prompt ? 'Save new version' : 'Create prompt'}</button>
      <ErrorNote error={error} />
    </form>
  );
}
