/**
 * The usage spool on disk: append-only JSON-lines files (`usage-<pid>-<random>.jsonl`), read back as a
 * stream of batches so a spool of any size replays in bounded memory (one read chunk, one partial line and
 * one batch at a time), and the search for files no live process writes to any more.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** A spool line longer than this is corrupt (a record is well under 4 KiB); it is skipped, not buffered. */
const MAX_LINE_CHARS = 1024 * 1024;
const READ_CHUNK_BYTES = 64 * 1024;

/** A new spool file name for this process in `dir`. */
export function spoolFileName(dir: string): string {
  return join(dir, `usage-${process.pid}-${randomBytes(4).toString('hex')}.jsonl`);
}

/** Appends lines (JSON texts without a newline) and fsyncs, so an acknowledged batch survives a crash. */
export async function appendLines(file: string, lines: readonly string[]): Promise<void> {
  const dir = file.slice(0, Math.max(file.lastIndexOf('/'), file.lastIndexOf('\\')));
  if (dir) await mkdir(dir, { recursive: true });
  const handle = await open(file, 'a');
  try {
    await handle.appendFile(`${lines.join('\n')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Streams a spool file as parsed rows, `batchSize` at a time. The stream is read chunk by chunk with
 * back-pressure: the next chunk is read only after the consumer handled the batches of the previous one.
 * A torn line (crash mid-append, before the fsync acknowledged it) or an over-long line is skipped.
 *
 * @example
 * for await (const batch of readBatches(file, 100)) await insert(batch);
 */
export async function* readBatches<T>(file: string, batchSize: number): AsyncGenerator<T[]> {
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
  let partial = '';
  let skipping = false;
  let batch: T[] = [];
  try {
    for await (const chunk of stream as AsyncIterable<string>) {
      let start = 0;
      for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
        const line = partial + chunk.slice(start, nl);
        partial = '';
        start = nl + 1;
        if (skipping) {
          skipping = false;
          continue;
        }
        const row = parseLine<T>(line);
        if (row !== undefined) batch.push(row);
        if (batch.length >= batchSize) {
          yield batch;
          batch = [];
        }
      }
      if (!skipping) partial += chunk.slice(start);
      if (partial.length > MAX_LINE_CHARS) {
        partial = '';
        skipping = true;
      }
    }
    if (!skipping) {
      const row = parseLine<T>(partial);
      if (row !== undefined) batch.push(row);
    }
    if (batch.length > 0) yield batch;
  } finally {
    stream.destroy();
  }
}

/** Rows in a spool file, counted by streaming it (for the pending gauge). */
export async function countRows(file: string): Promise<number> {
  let n = 0;
  try {
    for await (const batch of readBatches(file, 1000)) n += batch.length;
  } catch {
    return n;
  }
  return n;
}

function parseLine<T>(line: string): T | undefined {
  if (!line) return undefined;
  try {
    return JSON.parse(line) as T;
  } catch {
    return undefined; // torn write: the batch it belonged to was never acknowledged as spooled
  }
}

/**
 * Spool files in `dir` no live recorder writes to: their process is gone, or it had our pid before this
 * process started (containers always run as pid 1). `startedAt`: this process's start, wall milliseconds.
 */
export async function findOrphans(dir: string, startedAt: number): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const orphans: string[] = [];
  for (const name of names.sort()) {
    const match = /^usage-(\d+)-[0-9a-f]+\.jsonl$/.exec(name);
    if (!match) continue;
    const file = join(dir, name);
    const pid = Number(match[1]);
    if (pid === process.pid) {
      const info = await stat(file).catch(() => null);
      if (!info || info.mtimeMs >= startedAt) continue;
    } else if (isAlive(pid)) continue;
    orphans.push(file);
  }
  return orphans;
}

/** Whether a process with this pid runs (EPERM: it does, under another user). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
