/**
 * The demo's simulated upstream: one local HTTP server that answers every model of the default catalogue
 * in its provider's wire format (demo/dialects.ts), with realistic latency — a first-token delay, then the
 * answer piece by piece when streaming — and, now and then, a 503 the gateway retries. It never calls
 * anything: the answers are made up and say so. Only `llm-gateway demo` (and `npm run eval:example`) start
 * it. Messages of `llm-gateway eval run` — judge prompts and RAG questions — get the deterministic
 * evaluation answers of demo/eval-answers.ts instead.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../core/clock.js';
import { simulateAnswer, tokensOf, vectorOf } from './answer.js';
import { DIALECTS } from './dialects.js';
import { evalReply } from './eval-answers.js';

export interface SimulatedUpstreamOptions {
  clock: Pick<Clock, 'sleep' | 'random'>;
  /** Share of chat calls answered with a 503 (the gateway retries them). Default 0.02. */
  failureRate?: number;
  /** Multiplies every delay (tests: 0). Default 1. */
  latencyScale?: number;
}

const MAX_BODY_BYTES = 4 * 1024 * 1024;

type Json = Record<string, unknown>;

export class SimulatedUpstream {
  readonly url: string;
  readonly #server: Server;

  private constructor(server: Server) {
    this.#server = server;
    const { port } = server.address() as AddressInfo;
    this.url = `http://127.0.0.1:${port}`;
  }

  /** Starts it on 127.0.0.1 and a free port. */
  static async start(options: SimulatedUpstreamOptions): Promise<SimulatedUpstream> {
    const server = createServer((req, res) => {
      handle(req, res, options).catch(() => {
        if (!res.headersSent) sendJson(res, 500, { error: { message: 'simulated upstream failed' } });
        else res.destroy();
      });
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new SimulatedUpstream(server);
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

async function handle(req: IncomingMessage, res: ServerResponse, options: SimulatedUpstreamOptions) {
  const { clock } = options;
  const scale = options.latencyScale ?? 1;
  const path = new URL(req.url ?? '/', 'http://demo').pathname;
  const abort = new AbortController();
  res.on('close', () => abort.abort(new Error('client went away')));
  const wait = (ms: number) => (ms * scale > 0 ? clock.sleep(ms * scale, abort.signal) : Promise.resolve());
  if (req.method !== 'POST')
    return sendJson(res, 404, { error: { message: `no route ${req.method} ${path}` } });
  let body: Json;
  try {
    const parsed: unknown = JSON.parse(await readBody(req));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object');
    body = parsed as Json;
  } catch {
    return sendJson(res, 400, { error: { message: 'The body must be a JSON object.' } });
  }

  const embeddings = embeddingAnswer(path, body);
  if (embeddings) {
    await wait(40 + clock.random() * 60);
    return sendJson(res, 200, embeddings);
  }

  const dialect = DIALECTS.find((d) => d.matches(path));
  if (!dialect) return sendJson(res, 404, { error: { message: `The demo upstream has no ${path}.` } });
  let call: ReturnType<typeof dialect.parse>;
  try {
    call = dialect.parse(body, path);
  } catch (err) {
    return sendJson(res, 400, dialect.error(400, (err as Error).message));
  }
  if (clock.random() < (options.failureRate ?? 0.02)) {
    await wait(50);
    return sendJson(res, 503, dialect.error(503, 'Simulated overload: the demo upstream failed on purpose.'));
  }
  const scripted = evalReply(call.model, call.prompt);
  const answer = simulateAnswer(call.model, call.prompt, call.promptChars, clock, call.maxTokens, scripted);
  await wait(answer.firstTokenMs);
  if (!call.stream) {
    await wait(answer.pieceMs * answer.pieces.length);
    return sendJson(res, 200, dialect.json(answer));
  }
  const frames = dialect.stream(answer);
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  for (const frame of frames.head) res.write(frame);
  for (const piece of answer.pieces) {
    if (res.destroyed) return;
    res.write(frames.piece(piece));
    await wait(answer.pieceMs);
  }
  for (const frame of frames.tail) res.write(frame);
  res.end();
}

/** The answer of an embeddings call (`/embeddings`, `:batchEmbedContents`, `:embedContent`), or null. */
function embeddingAnswer(path: string, body: Json): unknown {
  const dims = typeof body.dimensions === 'number' ? body.dimensions : 256;
  if (path.endsWith('/embeddings')) {
    const input = body.input;
    const inputs: unknown[] = Array.isArray(input) && typeof input[0] !== 'number' ? input : [input];
    let tokens = 0;
    const data = inputs.map((item, index) => {
      const text = typeof item === 'string' ? item : JSON.stringify(item);
      tokens += tokensOf(text);
      return { object: 'embedding', index, embedding: vectorOf(text, dims) };
    });
    return {
      object: 'list',
      data,
      model: body.model,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  }
  const gDims = (r: Json) => (typeof r.outputDimensionality === 'number' ? r.outputDimensionality : 256);
  const textOf = (r: Json) => JSON.stringify((r.content as Json | undefined)?.parts ?? '');
  if (path.endsWith(':batchEmbedContents')) {
    const requests = Array.isArray(body.requests) ? (body.requests as Json[]) : [];
    return { embeddings: requests.map((r) => ({ values: vectorOf(textOf(r), gDims(r)) })) };
  }
  if (path.endsWith(':embedContent')) return { embedding: { values: vectorOf(textOf(body), gDims(body)) } };
  return null;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) req.destroy(new Error('body too large'));
      else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
