/**
 * The usage recorder: writes usage records to the database in batches, off the response path, and never
 * loses one, with bounded memory.
 *
 * - `record()` makes the record's JSON text (`usageRecordJson`, short keys) and pushes it to an in-memory
 *   queue (no I/O): a flush then only joins the texts and sends them, so it holds the event loop about half as
 *   long as when it serialised the whole batch (decision 0202). A batch is written when the queue reaches
 *   `batchSize` or every `flushIntervalMs`, one batch at a time; when more than a batch is waiting (records
 *   arrived while the last one was written), up to 1,000 go in one insert. Fewer than a batch wait for it to
 *   fill or for the timer, even when they arrived during a write (decision 0204).
 * - The queue is bounded (`maxQueue`): when it is full (the database is slow, down or still opening) the
 *   queue spills to the spool file instead of growing. Memory holds at most `maxQueue` records plus the
 *   batch being written and the group being appended.
 * - Inserts are idempotent (`on conflict (request_id, timestamp) do nothing`), so a batch may be written
 *   again safely; the same statement adds the rows it inserted (only those) to the daily rollups
 *   (stores/usage-rollups.ts). The day partitions a batch needs are created first when missing. Records the
 *   database refuses as data are set aside and the rest written (rejected.ts, decision 0214).
 * - When the database is not ready or an insert fails (or takes longer than `writeTimeoutMs`), the batch
 *   goes to the spool (the records' texts as JSON lines, fsync'd per append) and the database is left alone
 *   for a backoff (250 ms doubling to `recheckIntervalMs`); meanwhile flushes spool the queue. After the
 *   backoff the next flush tries again, so writing resumes by itself when the database is back.
 * - Replay streams each spool file in batches (never the whole file in memory); it reads the column-named
 *   lines of older spool files too. Before its own file is replayed it is sealed (new appends go to a new
 *   file), and a file is removed only after all its rows are in. A crash or failure between the two replays
 *   it again, which the unique request_id absorbs.
 * - `close()` flushes the queue (to the database, or the spool when it is down), bounded by `closeTimeoutMs`.
 *
 * At start a recorder also replays the files of processes that are no longer running (a previous run, a
 * crashed worker), never the file of a live one.
 */
import { unlink } from 'node:fs/promises';
import { type Clock, systemClock } from '../core/clock.js';
import type { Database } from '../stores/database.js';
import { ensurePartitions } from '../stores/usage-partitions.js';
import {
  dayOfTimestamp,
  insertUsageJson,
  joinUsageBatch,
  storedRecordJson,
  type UsageRow,
  usageRecordJson,
} from '../stores/usage-rollups.js';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { insertSettingAside, setAside } from './rejected.js';
import { appendLines, countRows, findOrphans, readBatches, spoolFileName } from './spool.js';

/** One row of `usage_records` as the recorder queues and spools it (the writer's `UsageRow`). */
export type UsageRecord = UsageRow;

export interface UsageRecorderOptions {
  database: () => Database;
  spoolDir: string;
  batchSize: number;
  flushIntervalMs: number;
  /** Most records held in memory; a full queue spills to the spool file. */
  maxQueue: number;
  /** Longest backoff before the database is tried again after a failure. */
  recheckIntervalMs: number;
  /** Longest wait for one insert before the batch goes to the spool. */
  writeTimeoutMs: number;
  /** Bound on `close()`. */
  closeTimeoutMs: number;
  logger: Logger;
  metrics: Metrics;
  /** Monotonic time for the backoff; wall time to tell this process's spool files from a previous same-pid
   * process's (by file mtimes: a fake clock must not run ahead of the real one). Default: the real clock. */
  clock?: Pick<Clock, 'now' | 'wallNow'> | undefined;
}

const FIRST_BACKOFF_MS = 250;
/** Most records one insert takes when more than a batch is waiting. */
const BACKLOG_BATCH = 1000;

export class UsageRecorder {
  readonly #options: UsageRecorderOptions;
  readonly #clock: Pick<Clock, 'now' | 'wallNow'>;
  /** Queued records' texts (`usageRecordJson`). */
  #queue: string[] = [];
  /** Records' texts handed to the disk writer, not yet appended. */
  #toSpool: string[] = [];
  /** Records of the group being appended to the spool right now (still in memory, not yet on disk). */
  #appending = 0;
  /** Sealed spool files (this recorder's and orphans), waiting for replay. */
  #files: string[] = [];
  #fileRows = new Map<string, number>();
  #spoolFile: string;
  #spoolFileRows = 0;
  /** Appends, seals and removals of spool files, one at a time. */
  #disk: Promise<void> = Promise.resolve();
  readonly #timer: NodeJS.Timeout;
  #orphansFound: Promise<void> | null = null;
  #running: Promise<void> | null = null;
  #closed = false;
  /** Monotonic time before which the database is not tried (after a failure), and the current backoff. */
  #retryAt = 0;
  #backoffMs = 0;
  /** UTC days known to have a partition (checked before a batch is written). */
  readonly #partitionDays = new Set<string>();
  /** Days of records queued since, not known to have one: created before the next batch is written. */
  readonly #newDays = new Set<string>();
  /** Records at the front of the queue that the running drain writes even as a part batch (`#start`). */
  #owed = 0;

  constructor(options: UsageRecorderOptions) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#spoolFile = spoolFileName(options.spoolDir);
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs);
    this.#timer.unref();
  }

  /** Queues a record (no I/O; never throws). A full queue spills to the spool file. */
  record(record: UsageRecord): void {
    this.#queue.push(usageRecordJson(record));
    this.#noteDay(record.timestamp);
    if (this.#queue.length >= this.#options.maxQueue) this.#spill(this.#takeQueue());
    else if (this.#closed) void this.flush();
    else if (this.#queue.length >= this.#options.batchSize) void this.#start(false);
    this.#gauges();
  }

  /** Records waiting in memory or in the spool. */
  get pending(): number {
    let onDisk = this.#spoolFileRows;
    for (const n of this.#fileRows.values()) onDisk += n;
    return this.#queue.length + this.#toSpool.length + this.#appending + onDisk;
  }

  /** Records held in memory (the queue and the group being appended to the spool). */
  get inMemory(): number {
    return this.#queue.length + this.#toSpool.length + this.#appending;
  }

  /** Writes everything queued (and replays the spool when the database answers). Never rejects. */
  flush(): Promise<void> {
    return this.#start(true);
  }

  /** Starts a drain or joins the running one; `all`: also a part batch of what is queued now (`flush()`). */
  #start(all: boolean): Promise<void> {
    if (all) this.#owed = this.#queue.length;
    this.#running ??= this.#drain().finally(() => {
      this.#running = null;
      this.#owed = 0;
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
    const rest = this.#takeQueue();
    if (rest.length > 0) this.#spill(rest);
    await this.#disk;
    if (outcome === 'timeout' || rest.length > 0) {
      this.#options.logger.warn(
        { event: 'usage.close_timeout', spooled: rest.length },
        'usage records left in the spool at shutdown',
      );
    }
  }

  async #drain(): Promise<void> {
    try {
      this.#orphansFound ??= this.#findOrphans();
      await this.#orphansFound;
      // Nothing to write: do not touch the database.
      if (this.pending === 0) return;
      const database = this.#options.database();
      if (!database.isReady() || this.#clock.now() < this.#retryAt) {
        this.#spill(this.#takeQueue());
        return;
      }
      if (!(await this.#replay(database))) {
        this.#spill(this.#takeQueue());
        return;
      }
      while (this.#queue.length > 0) {
        // Records that arrived during a write wait for a full batch (or the timer), not an insert each
        // (decision 0204); a backlog goes in larger inserts: one statement per batch bounds the throughput.
        if (this.#owed <= 0 && !this.#closed && this.#queue.length < this.#options.batchSize) break;
        const size = Math.max(this.#options.batchSize, Math.min(this.#queue.length, BACKLOG_BATCH));
        const batch = this.#queue.splice(0, size);
        this.#owed -= batch.length;
        this.#gauges();
        try {
          await this.#write(database, batch, this.#newDays);
          this.#healthy();
        } catch (err) {
          this.#failed('usage.write_failed', err);
          this.#spill([...batch, ...this.#takeQueue()]);
          return;
        }
      }
    } catch (err) {
      this.#options.logger.error({ event: 'usage.flush_error', err }, 'usage flush failed');
    } finally {
      this.#gauges();
    }
  }

  /** `#insert`, setting aside the records the database refuses as data (rejected.ts, decision 0214). */
  async #write(database: Database, records: string[], days: Set<string>): Promise<void> {
    const refused = await insertSettingAside((some) => this.#insert(database, some, days), records);
    if (refused.length > 0) await setAside(this.#options.spoolDir, refused, this.#options);
  }

  /**
   * Creates the partitions of `days` that are missing, then inserts the records with their rollups; both
   * bounded by `writeTimeoutMs` (creating a partition waits for a lock on `usage_records`).
   */
  async #insert(database: Database, records: string[], days: Set<string>): Promise<void> {
    const ms = this.#options.writeTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    });
    const write = this.#ensurePartitions(database, days).then(() =>
      insertUsageJson(database.db, joinUsageBatch(records)),
    );
    await Promise.race([write, timeout]).finally(() => clearTimeout(timer));
  }

  /** Notes a queued record's UTC day, when not known to have a partition (an ISO UTC timestamp: its start). */
  #noteDay(timestamp: string): void {
    const day =
      timestamp.length >= 20 && timestamp[10] === 'T' && timestamp.endsWith('Z')
        ? timestamp.slice(0, 10)
        : dayOfTimestamp(timestamp);
    if (day !== null && !this.#partitionDays.has(day)) this.#newDays.add(day);
  }

  /**
   * Creates the day partitions of `days` not known to exist (a failure loses nothing: the rows go to the
   * default partition), and forgets `days`.
   */
  async #ensurePartitions(database: Database, days: Set<string>): Promise<void> {
    const missing = [...days].filter((day) => !this.#partitionDays.has(day));
    days.clear();
    if (missing.length === 0) return;
    await ensurePartitions(database.db, missing).then(
      () => {
        for (const day of missing) this.#partitionDays.add(day);
      },
      // Tried again before a later batch: the next record of the day notes it again.
      (err: unknown) =>
        this.#options.logger.warn(
          { event: 'usage.partition_failed', error: err instanceof Error ? err.message : String(err) },
          'usage partitions could not be created; records go to the default partition',
        ),
    );
  }

  #takeQueue(): string[] {
    return this.#queue.splice(0);
  }

  /** Hands rows to the disk writer: appended as one group (with whatever else arrives meanwhile). */
  #spill(rows: string[]): void {
    if (rows.length === 0 && this.#toSpool.length === 0) return;
    this.#toSpool.push(...rows);
    this.#onDisk(async () => {
      const group = this.#toSpool;
      if (group.length === 0) return;
      this.#toSpool = [];
      this.#appending = group.length;
      try {
        await appendLines(this.#spoolFile, group);
      } catch (err) {
        this.#appending = 0;
        // The disk failed: keep the rows (losing them is worse) and try again at the next flush.
        this.#toSpool = [...group, ...this.#toSpool];
        this.#options.logger.error(
          { event: 'usage.spool_failed', records: group.length, err },
          'usage records could not be spooled to disk; kept in memory',
        );
        return;
      }
      this.#appending = 0;
      this.#spoolFileRows += group.length;
      this.#options.metrics.usageRecordsSpooled.inc(group.length);
      this.#options.logger.warn(
        { event: 'usage.spooled', records: group.length, spool_file: this.#spoolFile },
        'database unavailable or slow: usage records spooled to disk',
      );
      this.#gauges();
    });
  }

  /** Runs a spool-file operation after the ones before it (never two at once). */
  #onDisk(operation: () => Promise<void>): Promise<void> {
    const next = this.#disk.then(operation);
    this.#disk = next.catch(() => undefined);
    return this.#disk;
  }

  /**
   * Replays the sealed spool files (orphans first, then this recorder's, sealed now so appends go to a new
   * file). Streams each file in batches; removes a file once all its rows are in. False when a write failed.
   */
  async #replay(database: Database): Promise<boolean> {
    await this.#onDisk(async () => {
      if (this.#spoolFileRows === 0) return;
      this.#files.push(this.#spoolFile);
      this.#fileRows.set(this.#spoolFile, this.#spoolFileRows);
      this.#spoolFile = spoolFileName(this.#options.spoolDir);
      this.#spoolFileRows = 0;
    });
    while (this.#files.length > 0) {
      const file = this.#files[0] as string;
      let rows = 0;
      try {
        for await (const batch of readBatches<unknown>(file, this.#options.batchSize)) {
          const records: string[] = [];
          const days = new Set<string>();
          for (const line of batch) {
            const record = storedRecordJson(line);
            if (record === null) continue; // not a record: nothing to write
            records.push(record.json);
            const day = dayOfTimestamp(record.timestamp);
            if (day !== null) days.add(day);
          }
          if (records.length === 0) continue;
          await this.#write(database, records, days);
          rows += records.length;
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
          this.#failed('usage.replay_failed', err);
          return false;
        }
      }
      this.#healthy();
      await unlink(file).catch(() => undefined);
      this.#files.shift();
      this.#fileRows.delete(file);
      this.#options.logger.info(
        { event: 'usage.replayed', records: rows, spool_file: file },
        'spooled usage records written to the database',
      );
      this.#gauges();
    }
    // Rows that could not be appended before (disk failure): try again.
    if (this.#toSpool.length > 0) this.#spill([]);
    return true;
  }

  async #findOrphans(): Promise<void> {
    const startedAt = this.#clock.wallNow() - process.uptime() * 1000;
    for (const file of await findOrphans(this.#options.spoolDir, startedAt)) {
      this.#files.push(file);
      this.#fileRows.set(file, await countRows(file));
    }
    this.#gauges();
  }

  #healthy(): void {
    this.#backoffMs = this.#retryAt = 0;
  }

  /** A write failed: leave the database alone for a while (doubling up to `recheckIntervalMs`). */
  #failed(event: string, err: unknown): void {
    this.#backoffMs = Math.min(
      this.#backoffMs === 0 ? FIRST_BACKOFF_MS : this.#backoffMs * 2,
      this.#options.recheckIntervalMs,
    );
    this.#retryAt = this.#clock.now() + this.#backoffMs;
    this.#options.metrics.dependencyErrors.inc({ dependency: 'database' });
    this.#options.logger.warn(
      {
        event,
        dependency: 'database',
        retry_in_ms: this.#backoffMs,
        error: err instanceof Error ? err.message : String(err),
      },
      'usage records could not be written to the database',
    );
  }

  #gauges(): void {
    this.#options.metrics.usageRecordsPending.set(this.pending);
    this.#options.metrics.usageQueueDepth.set(this.inMemory);
  }
}
