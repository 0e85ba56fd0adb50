/**
 * A list of whole log lines in front of sonic-boom (pino's asynchronous destination). sonic-boom appends each
 * line to its last buffer string and measures that string's UTF-8 length again on every write
 * (`Buffer.byteLength` of a growing concatenation: the string is flattened and scanned once per line), about
 * 2 µs per line at 12 KiB batches; here lines are only pushed and counted, and joined into one write of
 * sonic-boom's every `threshold` characters. Everything that empties sonic-boom (its periodic flush,
 * `flush`, `flushSync`, `end`, pino's exit handler) first hands it the waiting lines, so nothing is held back
 * longer than before and nothing is lost at exit.
 */

/** The parts of a sonic-boom instance the batcher wraps. */
export interface LineStream {
  write(data: string): boolean;
  flush(cb?: ((err?: Error) => void) | null): void;
  flushSync(): void;
  end(): void;
}

/** Characters collected before they are handed to the stream in one write. */
export const LINE_BATCH_CHARS = 4096;

/** Wraps `stream` in place (pino and the exit handler keep the same object) and returns it. */
export function batchLines<S extends LineStream>(stream: S, threshold: number = LINE_BATCH_CHARS): S {
  const write = stream.write.bind(stream);
  let lines: string[] = [];
  let waiting = 0;
  const handOver = (): void => {
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
