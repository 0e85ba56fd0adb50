/**
 * pino JSON logs. Authorization headers and key-like fields are redacted by path; provider error texts
 * are scrubbed of configured secret values by `createRedactor` before they are logged or returned.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import { logTimestamp } from '../core/clock.js';
import { GATEWAY_KEY_SHAPE } from '../core/secret-shape.js';
import { batchLines } from './line-batch.js';

export type { Logger };

export interface LoggerOptions {
  level: string;
  /** Where lines go; default stdout, asynchronously (flushed on shutdown). */
  destination?: DestinationStream;
}

/**
 * Paths never written, whatever a log call passes. The `request.end` line (log-line.ts) is serialised by the
 * gateway: its flat fields cannot match a path of two segments, and a line with a key redacted here would
 * be written by pino.
 */
const REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  'headers["api-key"]',
  'authorization',
  'api_key',
  'apiKey',
  '*.api_key',
  '*.apiKey',
];

/** Log lines wait until this many characters are waiting … */
const LOG_BATCH_CHARS = 12_288;
/** … or at most this long (ms) after the first of them, then go out in one write. */
const LOG_FLUSH_MS = 100;
/**
 * The most one write takes of what is waiting (sonic-boom's default is 16 KiB). Writes go one at a time
 * through the thread pool, whose threads run at a lower priority than the event loop (decision 0186): at
 * saturation with 16 KiB writes the lines came faster than the writes took them, and the waiting text grew
 * (RSS +40–50 MiB in 8 s) and was copied by every scavenge (decision 0189).
 */
export const LOG_WRITE_MAX = 65_536;

/** Creates the process logger. */
export function createLogger(options: LoggerOptions): Logger {
  // Asynchronous stdout, batched: lines collect in memory and go out in one write once 12 KiB are waiting or
  // 100 ms after the first of them (whichever comes first; shutdown flushes the rest). One write per line
  // cost a thread-pool round trip and an extra event-loop wake-up per request: ~25 % of the gateway's CPU at
  // 300 req/s (docs/performance.md, "Profiling"). The batching is ./line-batch.ts; sonic-boom writes what
  // it is handed at once.
  const destination = options.destination ?? logDestination(1);
  return pino(
    {
      level: options.level,
      base: { service: 'llm-gateway' },
      messageKey: 'msg',
      timestamp: logTimestamp,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
}

/** The asynchronous, batched destination of the process's lines (`dest`: a file descriptor or a path). */
export function logDestination(dest: number | string): ReturnType<typeof pino.destination> {
  return batchLines(pino.destination({ dest, sync: false, maxWrite: LOG_WRITE_MAX }), {
    threshold: LOG_BATCH_CHARS,
    maxWaitMs: LOG_FLUSH_MS,
  });
}

/** Replaces every occurrence of the given secrets in a text. */
export type Redactor = (text: string) => string;

/**
 * The gateway's own API keys by their shape (`core/secret-shape.ts`): the redactor cannot know them (only
 * their hashes are stored), but a provider may echo one that a client put in its prompt, into an error
 * message bound for the logs.
 */
const GATEWAY_KEY = new RegExp(GATEWAY_KEY_SHAPE.source, 'g');

/** Builds a redactor for the configured secret values (provider keys, admin key) and any gateway key. */
export function createRedactor(secrets: readonly string[]): Redactor {
  const values = [...new Set(secrets.filter((s) => s.length >= 8))];
  return (text) => {
    let out = text;
    for (const secret of values) if (out.includes(secret)) out = out.split(secret).join('[redacted]');
    return out.includes('sk-gw-') ? out.replace(GATEWAY_KEY, '[redacted]') : out;
  };
}
