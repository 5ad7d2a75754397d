// When an account is polled next: its interval with jitter after a success, exponential
// backoff up to a ceiling after failures (and never before a backend's own retry-after).

export interface ScheduleOptions {
  /** Relative jitter, 0.1 = +-10 %. Spreads accounts so they do not poll in lockstep. */
  jitter: number;
  backoffBaseSeconds: number;
  backoffMaxSeconds: number;
}

export const DEFAULT_SCHEDULE: ScheduleOptions = { jitter: 0.1, backoffBaseSeconds: 2, backoffMaxSeconds: 300 };

function jittered(seconds: number, jitter: number, random: () => number): number {
  return seconds * (1 + (random() * 2 - 1) * jitter);
}

export function nextAfterSuccess(intervalSeconds: number, opts: ScheduleOptions, random: () => number = Math.random): number {
  return jittered(intervalSeconds, opts.jitter, random) * 1000;
}

/** `failures`: consecutive failures including this one (1 for the first). */
export function nextAfterFailure(failures: number, opts: ScheduleOptions, retryAfterSeconds = 0, random: () => number = Math.random): number {
  const exp = Math.min(opts.backoffMaxSeconds, opts.backoffBaseSeconds * 2 ** Math.min(30, Math.max(0, failures - 1)));
  return Math.max(retryAfterSeconds, jittered(exp, opts.jitter, random)) * 1000;
}
