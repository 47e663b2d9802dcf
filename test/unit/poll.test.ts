import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Attempt, done, notYet, poll, retry } from '../../src/util/poll.ts';

// Every test runs on the fake clock: sleeps take no real time and the times attempts were made are exact.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs `work` to its end on the fake clock and returns (or throws) what it settled with. */
async function onFakeClock<T>(work: Promise<T>): Promise<T> {
  const settled = work.catch(() => undefined); // handled here; the caller sees the rejection below
  await vi.runAllTimersAsync();
  await settled;
  return work;
}

/** An attempt that answers `answers` in turn (the last one from then on) and notes when it was called. */
function scripted<T>(answers: Attempt<T>[]) {
  const calledAt: number[] = [];
  const started = Date.now();
  const attempt = (count: number) => {
    calledAt.push(Date.now() - started);
    return answers[Math.min(count, answers.length) - 1]!;
  };
  return { attempt, calledAt };
}

const gaps = (times: number[]) => times.slice(1).map((t, i) => t - times[i]!);

describe('poll', () => {
  it('returns at once when the first attempt is done', async () => {
    const { attempt, calledAt } = scripted([done('served')]);
    const outcome = await onFakeClock(poll(attempt, { timeoutMs: 1000 }));
    expect(outcome).toEqual({ ok: true, value: 'served', attempts: 1, ms: 0 });
    expect(calledAt).toEqual([0]);
  });

  it('tries again after a bad answer, counting attempts from 1', async () => {
    const counts: number[] = [];
    const outcome = await onFakeClock(
      poll(
        async (count) => {
          counts.push(count);
          return count < 3 ? notYet(`not yet (${count})`) : done(count * 10);
        },
        { timeoutMs: 1000, initialDelayMs: 10 },
      ),
    );
    expect(outcome).toEqual({ ok: true, value: 30, attempts: 3, ms: 30 });
    expect(counts).toEqual([1, 2, 3]);
  });

  it('needs `consecutive` good answers in a row: a bad one starts the count again; good ones are spaced', async () => {
    const { attempt, calledAt } = scripted([
      done('old worker'),
      notYet('wrong certificate'),
      done('a'),
      done('b'),
      done('c'),
    ]);
    const outcome = await onFakeClock(
      poll(attempt, { timeoutMs: 1000, consecutive: 3, confirmSpacingMs: 5, initialDelayMs: 10 }),
    );
    expect(outcome).toMatchObject({ ok: true, value: 'c', attempts: 5 });
    // good → spacing (5), bad → backoff (10), then two spacings before the third good answer in a row.
    expect(calledAt).toEqual([0, 5, 15, 20, 25]);
  });

  it('ends at the deadline with the reason of the last attempt', async () => {
    const outcome = await onFakeClock(
      poll((count) => notYet(`stale serial (${count})`), {
        timeoutMs: 100,
        initialDelayMs: 10,
        maxDelayMs: 1000,
      }),
    );
    // attempts at 0, 10, 30, 70 and — the last pause clamped to the 30 ms left — at 100.
    expect(outcome).toEqual({ ok: false, reason: 'stale serial (5)', attempts: 5, ms: 100 });
  });

  it('makes one attempt even when no time is given', async () => {
    for (const timeoutMs of [0, -5]) {
      const { attempt, calledAt } = scripted([notYet('no answer')]);
      const outcome = await onFakeClock(poll(attempt, { timeoutMs }));
      expect(outcome).toEqual({ ok: false, reason: 'no answer', attempts: 1, ms: 0 });
      expect(calledAt).toEqual([0]);
    }
  });

  it('never sleeps past the deadline', async () => {
    const { attempt, calledAt } = scripted([notYet('pending')]);
    const outcome = await onFakeClock(poll(attempt, { timeoutMs: 25, initialDelayMs: 1000 }));
    expect(calledAt).toEqual([0, 25]);
    expect(outcome).toMatchObject({ ok: false, attempts: 2, ms: 25 });
  });

  it('waits without a deadline of its own when timeoutMs is Infinity', async () => {
    const { attempt, calledAt } = scripted([
      ...Array<Attempt<string>>(30).fill(notYet('running')),
      done('x'),
    ]);
    const outcome = await onFakeClock(
      poll(attempt, { timeoutMs: Number.POSITIVE_INFINITY, initialDelayMs: 200, maxDelayMs: 3000 }),
    );
    expect(outcome).toMatchObject({ ok: true, attempts: 31 });
    expect(gaps(calledAt).slice(0, 6)).toEqual([200, 400, 800, 1600, 3000, 3000]);
  });

  it('doubles the pause after each bad answer up to maxDelayMs', async () => {
    const { attempt, calledAt } = scripted([...Array<Attempt<string>>(6).fill(notYet('pending')), done('x')]);
    await onFakeClock(poll(attempt, { timeoutMs: 10_000, initialDelayMs: 10, maxDelayMs: 40 }));
    expect(gaps(calledAt)).toEqual([10, 20, 40, 40, 40, 40]);
  });

  it('backs off from 100 ms up to 2 s by default', async () => {
    const { attempt, calledAt } = scripted([...Array<Attempt<string>>(7).fill(notYet('pending')), done('x')]);
    await onFakeClock(poll(attempt, { timeoutMs: 60_000 }));
    expect(gaps(calledAt)).toEqual([100, 200, 400, 800, 1600, 2000, 2000]);
  });

  it('rejects with the reason of the aborted signal, during a pause or before the first attempt', async () => {
    const controller = new AbortController();
    const cancelled = new Error('job cancelled');
    setTimeout(() => controller.abort(cancelled), 35);
    const { attempt, calledAt } = scripted([notYet('pending')]);
    await expect(
      onFakeClock(poll(attempt, { timeoutMs: 10_000, initialDelayMs: 10, signal: controller.signal })),
    ).rejects.toBe(cancelled);
    expect(calledAt).toEqual([0, 10, 30]);

    const never = vi.fn(() => done('x'));
    await expect(poll(never, { timeoutMs: 1000, signal: controller.signal })).rejects.toBe(cancelled);
    expect(never).not.toHaveBeenCalled();
  });

  it('ends with the error of an attempt that throws', async () => {
    const refused = new Error('connection refused');
    const attempt = vi.fn(async (count: number) => {
      if (count === 2) throw refused;
      return notYet('pending');
    });
    await expect(onFakeClock(poll(attempt, { timeoutMs: 10_000, initialDelayMs: 10 }))).rejects.toBe(refused);
    expect(attempt).toHaveBeenCalledTimes(2);
  });
});

class Throttled extends Error {}
const isThrottled = (error: unknown) => error instanceof Throttled;

describe('retry', () => {
  it('returns what the action returns, without retrying', async () => {
    const onRetry = vi.fn();
    const action = vi.fn(async () => 'changed');
    const value = await onFakeClock(
      retry(action, { attempts: 5, retryable: isThrottled, baseMs: 10, capMs: 100, onRetry }),
    );
    expect(value).toBe('changed');
    expect(action).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('retries what `retryable` accepts, pausing for the full-jitter delay it tells onRetry', async () => {
    const started = Date.now();
    const calledAt: number[] = [];
    const failures: Throttled[] = [new Throttled('rate exceeded 1'), new Throttled('rate exceeded 2')];
    const onRetry = vi.fn();
    const value = await onFakeClock(
      retry(
        async (attempt) => {
          calledAt.push(Date.now() - started);
          if (attempt <= failures.length) throw failures[attempt - 1];
          return attempt;
        },
        { attempts: 5, retryable: isThrottled, baseMs: 10, capMs: 1000, random: () => 0.5, onRetry },
      ),
    );
    expect(value).toBe(3);
    // try n waits random · min(capMs, baseMs · 2^n): 0.5 · 20, then 0.5 · 40.
    expect(onRetry.mock.calls).toEqual([
      [failures[0], 1, 10],
      [failures[1], 2, 20],
    ]);
    expect(calledAt).toEqual([0, 10, 30]);
  });

  it('draws each delay from [0, min(capMs, baseMs · 2^n)): the cap doubles until capMs', async () => {
    const draws = [0.5, 0.25, 0.999, 0];
    const delays: number[] = [];
    await onFakeClock(
      retry(
        async (attempt) => {
          if (attempt <= draws.length) throw new Throttled();
          return 'ok';
        },
        {
          attempts: 10,
          retryable: isThrottled,
          baseMs: 100,
          capMs: 300,
          random: () => draws[delays.length]!,
          onRetry: (_error, _attempt, delayMs) => delays.push(delayMs),
        },
      ),
    );
    const expected = [0.5 * 200, 0.25 * 300, 0.999 * 300, 0];
    expect(delays).toHaveLength(expected.length);
    for (const [i, delay] of expected.entries()) expect(delays[i]).toBeCloseTo(delay, 9);
  });

  it('throws a failure `retryable` refuses at once', async () => {
    const denied = new Error('AccessDenied');
    const onRetry = vi.fn();
    const action = vi.fn(async () => {
      throw denied;
    });
    await expect(
      onFakeClock(retry(action, { attempts: 5, retryable: isThrottled, baseMs: 10, capMs: 100, onRetry })),
    ).rejects.toBe(denied);
    expect(action).toHaveBeenCalledTimes(1);
    expect(onRetry).not.toHaveBeenCalled();
  });

  it('stops after `attempts` tries and throws the last failure', async () => {
    const onRetry = vi.fn();
    const action = vi.fn(async (attempt: number) => {
      throw new Throttled(`throttled on try ${attempt}`);
    });
    await expect(
      onFakeClock(retry(action, { attempts: 3, retryable: isThrottled, baseMs: 10, capMs: 100, onRetry })),
    ).rejects.toThrow('throttled on try 3');
    expect(action).toHaveBeenCalledTimes(3);
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  it('rejects with the reason of the aborted signal and tries no more', async () => {
    const controller = new AbortController();
    const cancelled = new Error('job cancelled');
    const action = vi.fn(async () => {
      controller.abort(cancelled);
      throw new Throttled();
    });
    await expect(
      onFakeClock(
        retry(action, {
          attempts: 5,
          retryable: isThrottled,
          baseMs: 10,
          capMs: 100,
          random: () => 0.5,
          signal: controller.signal,
        }),
      ),
    ).rejects.toBe(cancelled);
    expect(action).toHaveBeenCalledTimes(1);
  });
});
