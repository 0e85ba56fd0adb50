/**
 * The console's calls to the gateway: the admin API with the session cookie (sent by the browser, never
 * readable by this code) and the session's CSRF token on every call that changes something.
 */

/** An error the gateway answered with (its OpenAI-style envelope), or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export interface Actor {
  role: 'admin' | 'org_admin' | 'team_admin';
  key_id: string | null;
  org_id: string | null;
  team_id: string | null;
}

export interface Session {
  actor: Actor;
  csrf_token: string;
  expires_at: string;
}

let csrfToken: string | null = null;
let onSignedOut: () => void = () => undefined;
let onSessionChanged: () => void = () => undefined;

/** Called when the gateway says the session is gone (expired, signed out elsewhere, its key revoked). */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler;
}

/**
 * What the sign-in page says then. Not the gateway's own message: without the cookie (cleared by signing
 * out in another tab) it can only say that admin endpoints need a key, which reads as if the key were wrong.
 */
export const SIGNED_OUT =
  'Your console session ended (it expired, was signed out in another tab, or its key no longer works): ' +
  'sign in again.';

/**
 * Called when a change was refused for a CSRF token that is no longer the session's: the browser's cookie
 * now holds another session (signed out and in again in another tab, maybe with another key).
 */
export function whenSessionChanged(handler: () => void): void {
  onSessionChanged = handler;
}

/** What the page says instead of the gateway's CSRF message (which names a header the user never sees). */
export const SESSION_CHANGED =
  'The console session changed in another tab (signed out, or signed in again); nothing was changed. ' +
  'The console now shows the current session: check the page and try again.';

/** Sends a call; a failure (the gateway's error envelope, or no answer) is thrown as an ApiError. */
async function send(method: string, path: string, body: unknown, accept: string): Promise<Response> {
  const headers: Record<string, string> = { accept };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError('The gateway did not answer. Is it running?', 0, null);
  }
  if (res.ok) return res;
  let json: unknown = null;
  try {
    json = JSON.parse(await res.text());
  } catch {
    // Not JSON: reported below with the status.
  }
  const error = (json as { error?: { message?: string; code?: string } } | null)?.error;
  const ownSession = path.startsWith('/console/session');
  if (res.status === 403 && error?.code === 'csrf_token_invalid' && !ownSession) {
    csrfToken = null;
    onSessionChanged();
    throw new ApiError(SESSION_CHANGED, res.status, error.code);
  }
  const failure = new ApiError(error?.message ?? `HTTP ${res.status}`, res.status, error?.code ?? null);
  if (res.status === 401 && !ownSession) {
    csrfToken = null;
    onSignedOut();
  }
  throw failure;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body, 'application/json');
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  try {
    return (text ? JSON.parse(text) : null) as T;
  } catch {
    return null as T;
  }
}

/** A file the gateway answers a GET with (CSV…): its text, and the headers that describe it. */
async function download(path: string, accept: string): Promise<{ text: string; headers: Headers }> {
  const res = await send('GET', path, undefined, accept);
  return { text: await res.text(), headers: res.headers };
}

export const api = {
  get: <T>(path: string) => request<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => request<T>('POST', path, body),
  patch: <T>(path: string, body: unknown) => request<T>('PATCH', path, body),
  put: <T>(path: string, body: unknown) => request<T>('PUT', path, body),
  delete: <T>(path: string) => request<T>('DELETE', path),
  download,
};

/** A page of an admin list (`{data, next_cursor}`; lists without pagination have no next_cursor). */
export interface ListPage<T> {
  data: T[];
  next_cursor?: string | null;
}

/** The current session, or null when signed out. */
export async function currentSession(): Promise<Session | null> {
  try {
    const session = await api.get<Session>('/console/session');
    csrfToken = session.csrf_token;
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return null;
    throw err;
  }
}

export async function signIn(key: string): Promise<Session> {
  const session = await api.post<Session>('/console/session', { key });
  csrfToken = session.csrf_token;
  return session;
}

export async function signOut(): Promise<void> {
  await api.delete('/console/session');
  csrfToken = null;
}

/** A query string of the set values (`?a=1&b=x`), or ''. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
