// Gmail's per-user quota (https://developers.google.com/gmail/api/reference/quota): every
// call costs units, and a user may spend a ceiling of units in any 60 s window (15,000 at
// Google today; a setting here). The adapter paces itself under that ceiling instead of
// running into 429s, and when Google still says 429 the whole user pauses until the
// Retry-After it names. Budgets are per Gmail user, so one user's backlog waits only on its
// own budget and never holds another user's calls (each account has its own runner).

/** Units per method, Google's table (the subset the adapter calls). */
export const GMAIL_UNITS = {
  getProfile: 1,
  'labels.list': 1,
  'labels.create': 5,
  'labels.patch': 5,
  'labels.delete': 5,
  'history.list': 2,
  'messages.list': 5,
  'messages.get': 5,
  'messages.modify': 5,
  'messages.batchModify': 50,
  'messages.insert': 25,
  'messages.send': 100,
  'messages.trash': 5,
  'messages.untrash': 5,
  'messages.delete': 10,
  watch: 100,
  stop: 50,
} as const;

export type GmailMethod = keyof typeof GMAIL_UNITS;

export const DEFAULT_UNITS_PER_MINUTE = 15000;
const WINDOW_MS = 60_000;

export interface Clock {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const REAL_CLOCK: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal!.reason);
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/** Units booked for one call; its time moves to the call's end when it is settled. */
export interface QuotaBooking {
  at: number;
  readonly units: number;
}

/** A sliding 60 s window of spent units for one Gmail user. */
export class QuotaBudget {
  private spent: Array<{ at: number; units: number }> = [];
  private pausedUntil = 0;
  /** Total units taken and time spent waiting (status, benchmarks). */
  readonly totals = { units: 0, calls: 0, waitedMs: 0, throttled: 0 };

  constructor(
    public unitsPerMinute: number,
    private readonly clock: Clock = REAL_CLOCK,
  ) {}

  /** Units spent in the current window. */
  inWindow(): number {
    this.prune();
    return this.spent.reduce((s, e) => s + e.units, 0);
  }

  /** How long a call of `units` has to wait now (0: go). */
  waitFor(units: number): number {
    const now = this.clock.now();
    if (now < this.pausedUntil) return this.pausedUntil - now;
    this.prune();
    let used = this.spent.reduce((s, e) => s + e.units, 0);
    if (used + units <= this.unitsPerMinute || this.spent.length === 0) return 0;
    // Wait until enough of the window has slid out.
    for (const e of this.spent) {
      used -= e.units;
      if (used + units <= this.unitsPerMinute) return Math.max(1, e.at + WINDOW_MS - now);
    }
    return Math.max(1, this.spent[this.spent.length - 1]!.at + WINDOW_MS - now);
  }

  /** Waits until `units` fit under the ceiling, then books them (settle() when the call ends). */
  async take(units: number, signal?: AbortSignal): Promise<QuotaBooking> {
    for (;;) {
      const wait = this.waitFor(units);
      if (wait === 0) break;
      this.totals.waitedMs += wait;
      await this.clock.sleep(wait, signal);
    }
    const booking = { at: this.clock.now(), units };
    this.spent.push(booking);
    this.totals.units += units;
    this.totals.calls++;
    return booking;
  }

  /**
   * The call ended: Gmail charged it somewhere between its start and now (a batch charges
   * its calls one by one), so its units leave the window counted from now. Counted from
   * the start they would leave before Gmail's, and the next calls would be refused.
   */
  settle(booking: QuotaBooking): void {
    booking.at = Math.max(booking.at, this.clock.now());
    // Kept in time order for prune(): this entry moves behind any booked while it ran.
    const i = this.spent.indexOf(booking);
    if (i >= 0 && i < this.spent.length - 1) {
      this.spent.splice(i, 1);
      let j = this.spent.length;
      while (j > 0 && this.spent[j - 1]!.at > booking.at) j--;
      this.spent.splice(j, 0, booking);
    }
  }

  /** Google refused with 429: nobody calls for this user before `ms` from now. */
  pause(ms: number): void {
    this.totals.throttled++;
    this.pausedUntil = Math.max(this.pausedUntil, this.clock.now() + ms);
  }

  private prune(): void {
    const limit = this.clock.now() - WINDOW_MS;
    let drop = 0;
    while (drop < this.spent.length && this.spent[drop]!.at <= limit) drop++;
    if (drop > 0) this.spent.splice(0, drop);
  }
}

/**
 * One budget per Gmail user in this process, so that every adapter instance and session
 * for the same user (the runner's, an on-demand body fetch's) shares it.
 */
const budgets = new Map<string, QuotaBudget>();

export function budgetFor(user: string, unitsPerMinute: number, clock: Clock = REAL_CLOCK): QuotaBudget {
  const key = user.toLowerCase();
  let b = budgets.get(key);
  if (!b) {
    b = new QuotaBudget(unitsPerMinute, clock);
    budgets.set(key, b);
  }
  b.unitsPerMinute = unitsPerMinute;
  return b;
}
