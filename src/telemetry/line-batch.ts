/**
 * The batching in front of sonic-boom (pino's asynchronous destination). Lines are only pushed to a list and
 * counted; they are joined and handed to the stream in one write once `threshold` characters wait, or
 * `maxWaitMs` after the first of them arrived, whichever comes first. sonic-boom's own batching (`minLength`,
 * `periodicFlush`) is not used:
 * - its append re-measures the UTF-8 length of a growing buffer string on every line (~2 µs a line at
 *   12 KiB batches);
 * - its periodic flush wakes the process every period even when nothing was logged, and each wake-up is a
 *   zero-byte write through the thread pool (an idle gateway woke ten times a second for nothing). Here the
 *   timer runs only while lines wait.
 * Everything that empties sonic-boom (`flush`, `flushSync`, `end`, pino's exit handler) first hands it the
 * waiting lines, so nothing is held back longer than `maxWaitMs` and nothing is lost at exit.
 */

/** The parts of a sonic-boom instance the batcher wraps. */
export interface LineStream {
  write(data: string): boolean;
  flush(cb?: ((err?: Error) => void) | null): void;
  flushSync(): void;
  end(): void;
}

export interface LineBatchOptions {
  /** Characters collected before they are handed to the stream in one write. */
  threshold: number;
  /** The longest a line waits (ms); without it, lines wait for the threshold or a flush. */
  maxWaitMs?: number;
}

/** Wraps `stream` in place (pino and the exit handler keep the same object) and returns it. */
export function batchLines<S extends LineStream>(stream: S, options: LineBatchOptions): S {
  const { threshold, maxWaitMs } = options;
  const write = stream.write.bind(stream);
  let lines: string[] = [];
  let waiting = 0;
  let timer: NodeJS.Timeout | null = null;
  const handOver = (): void => {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    if (lines.length === 0) return;
    const data = lines.length === 1 ? (lines[0] as string) : lines.join('');
    lines = [];
    waiting = 0;
    // A destroyed stream (closed, or stdout gone: EPIPE) throws on write; its lines have nowhere to go.
    if ((stream as { destroyed?: boolean }).destroyed !== true) write(data);
  };
  stream.write = (line: string): boolean => {
    lines.push(line);
    waiting += line.length;
    if (waiting >= threshold) handOver();
    else if (timer === null && maxWaitMs !== undefined) {
      timer = setTimeout(handOver, maxWaitMs);
      // Waiting lines never keep the process alive; exit paths flush them (pino's exit handler, `end`).
      timer.unref();
    }
    return true;
  };
  const flush = stream.flush.bind(stream);
  stream.flush = (cb) => {
    handOver();
    flush(cb);
  };
  const flushSync = stream.flushSync.bind(stream);
  stream.flushSync = () => {
    handOver();
    flushSync();
  };
  const end = stream.end.bind(stream);
  stream.end = () => {
    handOver();
    end();
  };
  return stream;
}
