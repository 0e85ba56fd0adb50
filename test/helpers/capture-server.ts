/**
 * A tiny real HTTP upstream for adapter tests: records every request (parsed JSON body) and answers with
 * what the test's `answer` function returns for it.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Captured {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

export interface Answer {
  status: number;
  /** Content type; JSON by default. */
  type?: string;
  body: string;
  headers?: Record<string, string>;
}

export interface CaptureServer {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** Every request so far; tests may clear it. */
  seen: Captured[];
  close(): Promise<void>;
}

/** Starts the server on a free loopback port. */
export async function startCaptureServer(answer: (req: Captured) => Answer): Promise<CaptureServer> {
  const seen: Captured[] = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => {
      const captured: Captured = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: raw ? (JSON.parse(raw) as unknown) : undefined,
      };
      seen.push(captured);
      const a = answer(captured);
      res.writeHead(a.status, { 'content-type': a.type ?? 'application/json', ...a.headers }).end(a.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
