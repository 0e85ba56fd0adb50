/**
 * Usage records the database refuses as data (decision 0214). An insert fails for two kinds of reasons:
 * the database is unavailable or slow (the batch is spooled and tried again later: nothing is lost), or it
 * refuses a value (SQLSTATE class 22, data exception: a number out of its column's range, a text it cannot
 * read; class 23, an integrity violation). Retrying the second kind can never succeed, and one such record
 * spooled at the head of the spool would hold back every record after it, across restarts. So a batch
 * refused as data is written again one record at a time, and the records refused alone are set aside in
 * `rejected-<pid>-<hex>.jsonl` in the spool directory (counted, logged): kept for an operator, never
 * replayed, never in the way.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Logger } from '../telemetry/logger.js';
import type { Metrics } from '../telemetry/metrics.js';
import { appendLines } from './spool.js';

/** Whether a database error refuses the data itself rather than saying the database is unavailable. */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

export interface Refused {
  record: string;
  error: string;
}

/**
 * Inserts `records` with `insert`; when the batch is refused as data, inserts them one at a time and returns
 * those refused alone. Any other error (the database unavailable, a timeout) is thrown, as from `insert`.
 */
export async function insertSettingAside(
  insert: (records: string[]) => Promise<void>,
  records: string[],
): Promise<Refused[]> {
  try {
    await insert(records);
    return [];
  } catch (err) {
    if (!isDataError(err) || records.length === 0) throw err;
  }
  const refused: Refused[] = [];
  for (const record of records) {
    try {
      await insert([record]);
    } catch (err) {
      if (!isDataError(err)) throw err;
      refused.push({ record, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return refused;
}

/**
 * Appends refused records (their JSON texts) to a new `rejected-*.jsonl` file in `dir`, counts them and logs
 * it (an error: an operator should look). Never rejects: a disk failure is logged with the records.
 */
export async function setAside(
  dir: string,
  refused: readonly Refused[],
  deps: { metrics: Metrics; logger: Logger },
): Promise<void> {
  deps.metrics.usageRecordsRejected.inc(refused.length);
  const file = join(dir, `rejected-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
  const lines = refused.map((r) => r.record);
  const written = await appendLines(file, lines).then(
    () => true,
    () => false,
  );
  deps.logger.error(
    {
      event: 'usage.records_rejected',
      records: refused.length,
      error: refused[0]?.error,
      ...(written ? { file } : { unwritten: lines }),
    },
    'the database refused usage records as data: set aside, not retried; the others were written',
  );
}
