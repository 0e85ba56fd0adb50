/**
 * The console's shell: the session (sign-in when there is none), the navigation and the current page.
 * Pages are a table; pages whose admin API is global-only are shown to the global admin only.
 */
import type { FunctionComponent } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import {
  type Actor,
  currentSession,
  SESSION_CHANGED,
  type Session,
  SIGNED_OUT,
  signOut,
  whenSessionChanged,
  whenSignedOut,
} from './api';
import { ErrorNote, Loading } from './components/ui';
import { Cache } from './pages/cache';
import { Evals } from './pages/evals';
import { Experiments } from './pages/experiments';
import { Keys } from './pages/keys';
import { Overview } from './pages/overview';
import { Prompts } from './pages/prompts';
import { Requests } from './pages/requests';
import { Routes } from './pages/routes';
import { SignIn } from './pages/sign-in';
import { Spend } from './pages/spend';
import { Teams } from './pages/teams';
import { BASE, navigate, usePage } from './router';

export interface PageProps {
  actor: Actor;
}

interface PageEntry {
  path: string;
  title: string;
  component: FunctionComponent<PageProps>;
  /** Only the global admin sees it (its admin API is global-only). */
  globalOnly?: boolean;
}

const PAGES: PageEntry[] = [
  { path: '', title: 'Overview', component: Overview },
  { path: 'teams', title: 'Teams', component: Teams },
  { path: 'keys', title: 'Keys', component: Keys },
  { path: 'spend', title: 'Spend', component: Spend },
  { path: 'requests', title: 'Requests', component: Requests },
  { path: 'routes', title: 'Routes', component: Routes, globalOnly: true },
  { path: 'cache', title: 'Cache', component: Cache, globalOnly: true },
  { path: 'prompts', title: 'Prompts', component: Prompts, globalOnly: true },
  { path: 'experiments', title: 'Experiments', component: Experiments, globalOnly: true },
  { path: 'evals', title: 'Evaluations', component: Evals, globalOnly: true },
];

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  // Why the console went back to sign-in, or why it now shows another session (shown once).
  const [notice, setNotice] = useState<string | null>(null);
  const page = usePage();
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    whenSignedOut(() => {
      setNotice(SIGNED_OUT);
      setSession(null);
    });
    // Another tab replaced the session: show the one the browser holds now (or sign-in when none).
    whenSessionChanged(() => {
      currentSession().then((current) => {
        setNotice(current ? SESSION_CHANGED : SIGNED_OUT);
        setSession(current);
      }, setError);
    });
    currentSession().then(setSession, setError);
  }, []);
  // Moving to another page puts the focus on its heading (screen readers announce it).
  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [page]);

  if (error) return <ErrorNote error={error} />;
  if (session === undefined) return <Loading />;
  if (session === null)
    return (
      <SignIn
        notice={notice}
        onSignedIn={(signedIn) => {
          setNotice(null);
          setSession(signedIn);
        }}
      />
    );

  const pages = PAGES.filter((p) => !p.globalOnly || session.actor.role === 'admin');
  const current = pages.find((p) => p.path === page) ?? pages[0];
  if (!current) return null;
  const Page = current.component;
  document.title = `${current.title} · LLM Gateway`;
  return (
    <div class="shell">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">LLM Gateway</span>
        <nav aria-label="Console">
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <a
                  href={`${BASE}${p.path}`}
                  aria-current={p === current ? 'page' : undefined}
                  onClick={(e) => {
                    if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                    e.preventDefault();
                    navigate(p.path);
                  }}
                >
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">{describe(session.actor)}</span>
        <button
          type="button"
          class="link"
          onClick={async () => {
            await signOut().catch(() => undefined);
            setNotice(null);
            setSession(null);
          }}
        >
          Sign out
        </button>
      </header>
      <main id="main" ref={main}>
        {notice ? (
          <p class="note" role="status">
            {notice}{' '}
            <button type="button" onClick={() => setNotice(null)}>
              Dismiss
            </button>
          </p>
        ) : null}
        {/* A new session (another key, or signed in again) reloads the page with what it may see. */}
        <Page key={session.csrf_token} actor={session.actor} />
      </main>
    </div>
  );
}

function describe(actor: Actor): string {
  if (actor.role === 'admin') return 'Global admin';
  if (actor.role === 'org_admin') return `Org admin · ${actor.org_id ?? ''}`;
  return `Team admin · ${actor.team_id ?? ''}`;
}
