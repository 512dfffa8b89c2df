// One retry timer with exponential backoff, for what the cluster side tries again on its own (the
// informers, the background audit's reflectors): each retry waits twice as long as the one before, up
// to a cap, and a success starts again from the first delay. The timer never keeps the process alive.
export class Retry {
  private delay: number;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly firstMs: number,
    private readonly maxMs: number,
  ) {
    this.delay = firstMs;
  }

  /** How long the next schedule() waits, for the log line that announces it. */
  get delayMs(): number {
    return this.delay;
  }

  /** Runs `retry` after the current delay (replacing a retry already waiting), and doubles the delay. */
  schedule(retry: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(retry, this.delay);
    this.timer.unref();
    this.delay = Math.min(this.delay * 2, this.maxMs);
  }

  /** It worked: the next failure waits the first delay again. */
  reset(): void {
    this.delay = this.firstMs;
  }

  cancel(): void {
    clearTimeout(this.timer);
  }
}
