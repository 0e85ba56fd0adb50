/**
 * When an upstream stream was last heard from (docs/decisions/0225). A translated stream yields chunks only
 * for what the client's API has a place for: Anthropic's thinking deltas, signature deltas and `ping`
 * events, and SSE comments (`: ping`, keep-alives), translate to nothing, yet they are the upstream
 * working. The SSE reader notes every event and comment here, once per upstream read; the stream timers
 * (the attempt's first-chunk timer, the writer's idle timer) look at it only when they fire, so the
 * per-event cost is one clock read per read, and no timer is re-armed per event.
 *
 * @example
 * const heard = new StreamLiveness(() => clock.now());
 * heard.note(true); // an event arrived
 * if (heard.answering && heard.quietMs() < idleMs) rearm(idleMs - heard.quietMs());
 */
export class StreamLiveness {
  /** `now()` of the last event or comment; -1 before any. */
  lastAt = -1;
  /** Whether the upstream sent an event (not only comments): its answer has begun. */
  answering = false;

  constructor(private readonly now: () => number) {}

  /** The upstream sent something: an event (`event: true`) or only comments. */
  note(event: boolean): void {
    this.lastAt = this.now();
    if (event) this.answering = true;
  }

  /** Milliseconds since the upstream was last heard from; Infinity before it sent anything. */
  quietMs(): number {
    return this.lastAt < 0 ? Number.POSITIVE_INFINITY : this.now() - this.lastAt;
  }
}
