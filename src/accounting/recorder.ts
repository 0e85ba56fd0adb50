/**
 * The usage recorder: writes usage records to the database in batches, off the response path, and never
 * loses one.
 *
 * - `record()` only pushes to an in-memory queue (no I/O). A batch is written when the queue reaches
 *   `batchSize` or every `flushIntervalMs`, one batch at a time.
 * - Inserts are idempotent (`on conflict (request_id) do nothing`), so a batch may be written again safely.
 * - When the database is not ready or an insert fails, the batch is appended to a spool file (JSON lines,
 *   fsync'd per batch) in the spool directory. Every flush first replays the spool when the database
 *   answers again; the file is removed only after all its rows are in. A crash between the two replays it
 *   once more, which the unique request_id absorbs.
 * - `close()` flushes the queue (to the database, or the spool when it is down), bounded by `closeTimeoutMs`.
 *
 * The spool file is `usage-<pid>-<random>.jsonl`; at start a recorder also replays the files of processes that are
 * no longer running (a previous run, a crashed worker), never the file of a live one.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '../core/clock.js';
import type { Database } from '../stores/database.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';

/** One row of `usage_records` as the recorder queues and spools it. */
export interface UsageRecord {
  timestamp: string;
  /** The gateway's own request id (UUIDv7): the uniqueness key that makes writes idempotent. */
  request_id: string;
  user_id: string;
  api_key_id: string | null;
  model: string;
  provider: string | null;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  /** USD with 6 decimals, as a string (exact); null when the model is not priced. */
  cost_usd: string | null;
  cached: boolean;
  cache_type: string | null;
  saved_usd: string;
  latency_ms: number;
  status: 'success' | 'error' | 'incomplete';
  http_status: number;
  estimated: boolean;
  stream: boolean;
  prompt_name: string | null;
  prompt_version: number | null;
  /** The client's `X-Request-ID`; absent in spool files written before migration 0003. */
  client_request_id?: string | null;
  /** The inbound API (`chat`, `embeddings`); absent in older spool files. */
  endpoint?: string | null;
}

export interface UsageRecorderOptions {
  database: () => Database;
  spoolDir: string;
  batchSize: number;
  flushIntervalMs: number;
  /** Longest wait for one insert before the batch goes to the spool. */
  writeTimeoutMs: number;
  /** Bound on `close()`. */
  closeTimeoutMs: number;
  logger: Logger;
  metrics: Metrics;
  /**
   * Wall time, to tell this process's spool files from those a previous process with the same pid left
   * (compared with file mtimes, so a fake clock should not run ahead of the real one); the real clock when
   * absent.
   */
  clock?: Pick<Clock, 'wallNow'> | undefined;
}

export class UsageRecorder {
  readonly #options: UsageRecorderOptions;
  readonly #clock: Pick<Clock, 'wallNow'>;
  readonly #queue: UsageRecord[] = [];
  readonly #spoolFile: string;
  readonly #timer: NodeJS.Timeout;
  /** Rows in this recorder's spool file, and in orphaned ones found at start, not yet replayed. */
  #spooled = 0;
  #orphanRows = 0;
  #orphans: string[] | null = null;
  #running: Promise<void> | null = null;
  #closed = false;

  constructor(options: UsageRecorderOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#spoolFile = join(options.spoolDir, `usage-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.#timer.unref();
  }

  /** Queues a record (no I/O; never throws). */
  record(record: UsageRecord): void {
    this.#queue.push(record);
    this.#pending();
    // After close() nothing else would write it: flush at once (to the database or the spool).
    if (this.#closed || this.#queue.length >= this.#options.batchSize) void this.flush();
  }

  /** Records waiting in memory or in the spool. */
  get pending(): number {
    return this.#queue.length + this.#spooled + this.#orphanRows;
  }

  /** Writes everything queued (and replays the spool when the database answers). Never rejects. */
  flush(): Promise<void> {
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /** Stops the timer and flushes the queue, bounded by `closeTimeoutMs`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.#options.closeTimeoutMs);
    });
    // A flush may be running: wait for it, then flush what arrived meanwhile.
    const done = (async () => {
      await this.flush();
      if (this.#queue.length > 0) await this.flush();
      return 'done' as const;
    })();
    const outcome = await Promise.race([done, bound]);
    clearTimeout(timer);
    if (outcome === 'timeout' || this.#queue.length > 0) {
      // The database is too slow: keep what is left on disk for the next start.
      const rest = this.#queue.splice(0);
      if (rest.length > 0) await this.#spool(rest).catch(() => undefined);
      this.#options.logger.warn(
        { event: 'usage.close_timeout', spooled: rest.length },
        'usage records left in the spool at shutdown',
      );
    }
  }

  async #drain(): Promise<void> {
    try {
      // Nothing to write: do not open the database (an embedded PGlite costs seconds and hundreds of MB,
      // so an idle gateway never opens it).
      this.#orphans ??= await this.#findOrphans();
      if (this.#queue.length === 0 && this.#spooled === 0 && this.#orphans.length === 0) return;
      const database = this.#options.database();
      if (database.isReady()) await this.#replay(database);
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#options.batchSize);
        if (database.isReady()) {
          try {
            await this.#insert(database, batch);
            continue;
          } catch (err) {
            this.#dependencyError('usage.write_failed', err);
          }
        }
        await this.#spool(batch);
      }
    } catch (err) {
      this.#options.logger.error({ event: 'usage.flush_error', err }, 'usage flush failed');
    } finally {
      this.#pending();
    }
  }

  async #insert(database: Database, rows: UsageRecord[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${this.#options.writeTimeoutMs} ms`)),
        this.#options.writeTimeoutMs,
      );
    });
    try {
      await Promise.race([
        database.db
          .insertInto('usage_records')
          .values(rows)
          .onConflict((oc) => oc.column('request_id').doNothing())
          .execute(),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Appends a batch to this process's spool file and fsyncs it. Throws only when the disk fails. */
  async #spool(rows: UsageRecord[]): Promise<void> {
    await mkdir(this.#options.spoolDir, { recursive: true });
    const handle = await open(this.#spoolFile, 'a');
    try {
      await handle.appendFile(rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
      await handle.sync();
    } finally {
      await handle.close();
    }
    this.#spooled += rows.length;
    this.#options.logger.warn(
      { event: 'usage.spooled', records: rows.length, spool_file: this.#spoolFile },
      'database unavailable: usage records spooled to disk',
    );
  }

  /** Replays this process's spool file and orphaned ones; removes each once all its rows are in. */
  async #replay(database: Database): Promise<void> {
    this.#orphans ??= await this.#findOrphans();
    const files = [...this.#orphans, ...(this.#spooled > 0 ? [this.#spoolFile] : [])];
    for (const file of files) {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch {
        this.#orphans = this.#orphans.filter((f) => f !== file);
        continue;
      }
      const rows = parseSpool(text);
      try {
        for (let i = 0; i < rows.length; i += this.#options.batchSize) {
          await this.#insert(database, rows.slice(i, i + this.#options.batchSize));
        }
      } catch (err) {
        this.#dependencyError('usage.replay_failed', err);
        return;
      }
      await unlink(file).catch(() => undefined);
      if (file === this.#spoolFile) this.#spooled = 0;
      else {
        this.#orphans = this.#orphans.filter((f) => f !== file);
        this.#orphanRows = Math.max(0, this.#orphanRows - rows.length);
      }
      this.#options.logger.info(
        { event: 'usage.replayed', records: rows.length, spool_file: file },
        'spooled usage records written to the database',
      );
    }
  }

  /**
   * Spool files no live recorder writes to: their process is gone, or it had our pid before this process
   * started (containers always run as pid 1).
   */
  async #findOrphans(): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.#options.spoolDir);
    } catch {
      return [];
    }
    const startedAt = this.#clock.wallNow() - process.uptime() * 1000;
    const orphans: string[] = [];
    for (const name of names) {
      const match = /^usage-(\d+)-[0-9a-f]+\.jsonl$/.exec(name);
      if (!match) continue;
      const file = join(this.#options.spoolDir, name);
      const pid = Number(match[1]);
      if (pid === process.pid) {
        const info = await stat(file).catch(() => null);
        if (!info || info.mtimeMs >= startedAt) continue;
      } else if (isAlive(pid)) continue;
      const text = await readFile(file, 'utf8').catch(() => '');
      this.#orphanRows += parseSpool(text).length;
      orphans.push(file);
    }
    return orphans;
  }

  #dependencyError(event: string, err: unknown): void {
    this.#options.metrics.dependencyErrors.inc({ dependency: 'database' });
    this.#options.logger.warn(
      { event, dependency: 'database', error: err instanceof Error ? err.message : String(err) },
      'usage records could not be written to the database',
    );
  }

  #pending(): void {
    this.#options.metrics.usageRecordsPending.set(this.pending);
  }
}

/** Parses a spool file; a torn last line (crash mid-append, before fsync) is skipped. */
function parseSpool(text: string): UsageRecord[] {
  const rows: UsageRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    try {
      rows.push(JSON.parse(line) as UsageRecord);
    } catch {
      // torn write: the batch it belonged to was never acknowledged as spooled
    }
  }
  return rows;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
