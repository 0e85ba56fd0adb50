/**
 * The feature contract (DESIGN §2). A feature (auth, rate limits, budgets, cache, routing, accounting,
 * telemetry …) contributes stages and settle steps (picked by name in `pipeline/pipeline.ts`), admin routes
 * (a route table the server mounts — features never import Fastify), a health check, and `close()`.
 */
import type { TSchema } from '@sinclair/typebox';

/** What a health check reports (`GET /health`). */
export type DependencyCheck = () => Promise<{ status: string; [detail: string]: unknown }>;

/**
 * Who makes an admin request (DESIGN §7). `admin` is the global admin key; `org_admin` and `team_admin`
 * are gateway keys with that role, limited to their own organization's or team's subtree (keys, budgets,
 * spend). Handlers that list or change tenant data must filter by `orgId`/`teamId` for those roles.
 */
export interface AdminActor {
  readonly role: 'admin' | 'org_admin' | 'team_admin';
  /** The acting key's id (null for the global admin key). Recorded as the actor in the audit log. */
  readonly keyId: string | null;
  /** The organization an `org_admin` (or a `team_admin`'s team) belongs to; null for `admin`. */
  readonly orgId: string | null;
  /** The team a `team_admin` manages; null for `admin` and `org_admin`. */
  readonly teamId: string | null;
  /** The acting key's rate-limit tier: the most an org or team admin may grant (absent for `admin`). */
  readonly tier?: string;
}

/** The global admin key's actor. */
export const GLOBAL_ADMIN: AdminActor = { role: 'admin', keyId: null, orgId: null, teamId: null };

/** An admin request as a route handler sees it: already authorised and validated. */
export interface AdminRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, unknown>>;
  readonly body: unknown;
  /** The request id (for the audit log). */
  readonly id: string;
  /** The caller's address (for the audit log). */
  readonly ip: string;
  /** Who is calling: the global admin, or an org/team admin key limited to its subtree. */
  readonly actor: AdminActor;
}

/** An answer with a status other than 200. */
export interface AdminReply {
  readonly status: number;
  readonly body: unknown;
  /** Response headers (`content-type` of a CSV answer). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** One admin endpoint: method, path (Fastify syntax, `:id`), JSON schemas of its inputs, and the handler. */
/** One documented success answer of an admin route (`AdminRoute.responses`). */
export interface AdminResponseDoc {
  readonly description: string;
  /** A component of server/openapi/schemas.ts (`ApiKey`, `AdminList` …); unset: no body. */
  readonly component?: string;
  /** The route also answers `text/csv` (`format=csv`). */
  readonly csv?: boolean;
  /** Response headers the answer carries, by name (a JSON schema each, with its description). */
  readonly headers?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

export interface AdminRoute {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly url: string;
  readonly summary: string;
  /**
   * Who may call it: `global` (default) = the global admin key only; `tenant` = org and team admin keys
   * too, and then the handler must limit what it reads and changes to `request.actor`'s subtree.
   */
  readonly access?: 'global' | 'tenant';
  readonly params?: TSchema;
  readonly querystring?: TSchema | Record<string, unknown>;
  readonly body?: TSchema;
  /** A missing body means `{}` (for POSTs whose fields are all optional). */
  readonly emptyBodyIsObject?: boolean;
  /**
   * /openapi.json only (never used to serialise the answer): the success answers by status, each with a
   * description and the name of its body's schema in server/openapi/schemas.ts (`csv`: also `text/csv`).
   * Unset: 200, a JSON object. A route that answers `withStatus(201, …)` must say 201 here.
   */
  readonly responses?: Readonly<Record<number, AdminResponseDoc>>;
  /** Resolves with the JSON body (200), or `withStatus(status, body)`; throws a GatewayError to fail. */
  handler(request: AdminRequest): Promise<unknown>;
}

const REPLY = Symbol('admin.reply');

/** A non-200 admin answer, tagged so a handler's plain object is never mistaken for one. */
export function withStatus(
  status: number,
  body: unknown,
  headers?: Readonly<Record<string, string>>,
): AdminReply {
  return Object.defineProperty({ status, body, ...(headers ? { headers } : {}) }, REPLY, {
    value: true,
    enumerable: false,
  });
}

/** Whether a handler's value came from `withStatus`. */
export function isAdminReply(value: unknown): value is AdminReply {
  return typeof value === 'object' && value !== null && (value as { [REPLY]?: true })[REPLY] === true;
}

export interface Feature {
  readonly name: string;
  /** Admin endpoints, mounted under the admin-key guard by the server. */
  readonly routes?: readonly AdminRoute[];
  readonly health?: DependencyCheck;
  /**
   * Resolves when what the feature opens at start-up is open (the embedding model loaded): the gateway
   * waits for it before it serves, so no request pays for it. Never rejects: a part that cannot open is
   * logged and the feature runs without it.
   */
  ready?(): Promise<void>;
  /** Called after the server stopped serving: flush queues. Bounded by the feature itself. */
  close?(): Promise<void>;
}
