import { sleep } from './sleep.ts';

/**
 * The one way Ottr waits: for a commit job, a restarting web server, a served certificate, a TXT record, a
 * Route53 change. Never a fixed sleep: exponential backoff between attempts, an overall deadline, an abort
 * signal, and optionally "N good answers in a row" (a reload leaves old workers answering for a moment).
 */
export interface PollOptions {
  /**
   * Give up once this many ms have passed since the first attempt (at least one attempt is always made).
   * `Infinity` when something else bounds the wait (the signal, a timeout the other side enforces).
   */
  timeoutMs: number;
  signal?: AbortSignal;
  /** First pause after a bad answer; doubled after each one up to maxDelayMs. Default 100 ms. */
  initialDelayMs?: number;
  /** Default 2000 ms. */
  maxDelayMs?: number;
  /** Good answers needed in a row; a bad one in between starts the count again. Default 1. */
  consecutive?: number;
  /** Pause between the good answers of a row. Default 200 ms. */
  confirmSpacingMs?: number;
}

/** What one attempt saw: done with a value, or not yet (with the reason, which ends the timeout message). */
export type Attempt<T> = { done: true; value: T } | { done: false; reason: string };

export type PollOutcome<T> =
  | { ok: true; value: T; attempts: number; ms: number }
  | { ok: false; reason: string; attempts: number; ms: number };

export const done = <T>(value: T): Attempt<T> => ({ done: true, value });
export const notYet = (reason: string): Attempt<never> => ({ done: false, reason });

/**
 * Calls `attempt` until it is done (`consecutive` times in a row) or the deadline passes, and says which. An
 * attempt that throws ends the poll with that error: callers turn the errors they expect into `notYet`.
 * Only an abort of `signal` rejects besides that.
 */
export async function poll<T>(
  attempt: (count: number) => Promise<Attempt<T>> | Attempt<T>,
  options: PollOptions,
): Promise<PollOutcome<T>> {
  const started = Date.now();
  const needed = Math.max(1, options.consecutive ?? 1);
  const spacing = options.confirmSpacingMs ?? 200;
  const maxDelay = options.maxDelayMs ?? 2000;
  let delay = options.initialDelayMs ?? 100;
  let good = 0;
  for (let count = 1; ; count++) {
    if (options.signal?.aborted) throw options.signal.reason;
    const seen = await attempt(count);
    const elapsed = Date.now() - started;
    if (seen.done) {
      if (++good >= needed) return { ok: true, value: seen.value, attempts: count, ms: elapsed };
      await sleep(spacing, options.signal);
      continue;
    }
    good = 0;
    const left = options.timeoutMs - elapsed;
    if (left <= 0) return { ok: false, reason: seen.reason, attempts: count, ms: elapsed };
    await sleep(Math.min(delay, left), options.signal);
    delay = Math.min(delay * 2, maxDelay);
  }
}

export interface RetryOptions {
  /** Tries in all, the first included. */
  attempts: number;
  /** Whether a failure is worth another try (throttling, 5xx, a conflict); others are thrown at once. */
  retryable(error: unknown): boolean;
  /** Backoff cap for try n is min(capMs, baseMs · 2^n), with full jitter (AWS's advice for throttled APIs). */
  baseMs: number;
  capMs: number;
  signal?: AbortSignal;
  /** Told before each pause, e.g. to log "throttled, retrying in 420 ms". */
  onRetry?(error: unknown, attempt: number, delayMs: number): void;
  /** For tests: a number in [0, 1). */
  random?: () => number;
}

/** Runs `action` and retries the failures `retryable` accepts; the last failure is thrown when tries run out. */
export async function retry<T>(action: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const random = options.random ?? Math.random;
  for (let attempt = 1; ; attempt++) {
    if (options.signal?.aborted) throw options.signal.reason;
    try {
      return await action(attempt);
    } catch (error) {
      if (attempt >= options.attempts || !options.retryable(error)) throw error;
      const delay = random() * Math.min(options.capMs, options.baseMs * 2 ** attempt);
      options.onRetry?.(error, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}
