/**
 * The shape of the gateway's own API keys (`sk-gw-` and 43 base64url characters, `auth/keys.ts`). The
 * gateway cannot know the keys themselves (only their hashes are stored), but a key pasted where a client
 * names something — its `X-Request-ID`, its end user, the model — would otherwise be logged, traced and
 * stored with the request. Such values are refused or dropped at the edge (decision 0210); the redactor
 * (`telemetry/logger.ts`) scrubs the same shape from texts bound for logs and error bodies.
 */
export const GATEWAY_KEY_SHAPE = /sk-gw-[A-Za-z0-9_-]{20,}/;

/** Whether a client-chosen text holds something shaped like a gateway API key (cheap when it does not). */
export function holdsGatewayKey(text: string): boolean {
  return text.includes('sk-gw-') && GATEWAY_KEY_SHAPE.test(text);
}
