/**
 * The progress line on stderr: items done / total, rate, ETA and cost so far. On a terminal it redraws
 * one line; otherwise (CI logs, a pipe) it prints a plain line at each tenth of the run and at the end.
 */
import type { Clock } from '../core/clock.js';

export interface ProgressSink {
  write(text: string): void;
  isTTY: boolean;
}

export class Progress {
  readonly #sink: ProgressSink;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #total: number;
  readonly #started: number;
  #done = 0;
  #fresh = 0;
  #errors = 0;
  #cost = 0;
  #lastDecile = -1;

  /** `alreadyDone`: pairs finished by an earlier, interrupted run (not counted in the rate). */
  constructor(total: number, alreadyDone: number, clock: Pick<Clock, 'now'>, sink: ProgressSink) {
    this.#sink = sink;
    this.#clock = clock;
    this.#total = total;
    this.#done = alreadyDone;
    this.#started = clock.now();
    if (alreadyDone > 0) sink.write(`resuming: ${alreadyDone}/${total} already done\n`);
  }

  tick(costUsd: number, failed: boolean): void {
    this.#done++;
    this.#fresh++;
    this.#cost += costUsd;
    if (failed) this.#errors++;
    this.#render();
  }

  line(): string {
    const elapsed = Math.max(1, this.#clock.now() - this.#started) / 1000;
    const rate = this.#fresh / elapsed;
    const left = this.#total - this.#done;
    const eta = rate > 0 ? `${Math.round(left / rate)}s` : '?';
    const width = 24;
    const filled = this.#total === 0 ? width : Math.round((this.#done / this.#total) * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const errors = this.#errors > 0 ? ` · ${this.#errors} failed` : '';
    return `[${bar}] ${this.#done}/${this.#total} items · ${rate.toFixed(1)}/s · ETA ${eta} · $${this.#cost.toFixed(6)}${errors}`;
  }

  #render(): void {
    if (this.#sink.isTTY) {
      this.#sink.write(`\r${this.line()}${this.#done === this.#total ? '\n' : ''}`);
      return;
    }
    const decile = this.#total === 0 ? 10 : Math.floor((this.#done / this.#total) * 10);
    if (decile !== this.#lastDecile) {
      this.#lastDecile = decile;
      this.#sink.write(`${this.line()}\n`);
    }
  }
}
