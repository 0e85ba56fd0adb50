/**
 * Admin API calls for the tenancy tests: organizations, teams and keys created through the real
 * endpoints, with the global admin key or an org/team admin key.
 */
import assert from 'node:assert/strict';
import { postJson, type TestGateway, userMessage } from './gateway.js';

export interface AdminAnswer {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; param: string | null; message: string } };
}

export async function adminCall(
  gw: TestGateway,
  token: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<AdminAnswer> {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: (await res.json()) as AdminAnswer['body'] };
}

/** POSTs and expects 201; returns the created object (`key` included for keys). */
export async function created(
  gw: TestGateway,
  token: string,
  path: string,
  body: Record<string, unknown>,
): Promise<Record<string, unknown> & { id: string; key: string }> {
  const res = await adminCall(gw, token, 'POST', path, body);
  assert.equal(res.status, 201, `${path}: ${JSON.stringify(res.body)}`);
  return res.body as Record<string, unknown> & { id: string; key: string };
}

/** One chat completion with a gateway key; the answer's status and error (if any). */
export async function chatWith(
  gw: TestGateway,
  key: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Promise<{ status: number; error?: { code: string; param: string | null }; cost: number }> {
  const res = await postJson(
    `${gw.url}/v1/chat/completions`,
    { model: 'gpt-4o-mini', messages: userMessage(), ...extra },
    { authorization: `Bearer ${key}`, ...headers },
  );
  const json = (await res.json()) as { error?: { code: string; param: string | null } };
  return { status: res.status, error: json.error, cost: Number(res.headers.get('x-cost') ?? 0) };
}
