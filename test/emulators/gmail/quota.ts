// Gmail's usage limits (https://developers.google.com/gmail/api/reference/quota): every
// method costs quota units; a user may spend a number of units per minute (15,000 today)
// and the project a larger number (1,200,000). Over the limit the call is refused with 429
// and Google's usageLimits error, and costs nothing.

import { ApiError } from './errors';

/** Units per method, from Google's table (drafts and settings are not emulated). */
export const QUOTA_UNITS: Record<string, number> = {
  'gmail.users.getProfile': 1,
  'gmail.users.watch': 100,
  'gmail.users.stop': 50,
  'gmail.users.history.list': 2,
  'gmail.users.labels.create': 5,
  'gmail.users.labels.delete': 5,
  'gmail.users.labels.get': 1,
  'gmail.users.labels.list': 1,
  'gmail.users.labels.patch': 5,
  'gmail.users.labels.update': 5,
  'gmail.users.messages.attachments.get': 5,
  'gmail.users.messages.batchDelete': 50,
  'gmail.users.messages.batchModify': 50,
  'gmail.users.messages.delete': 10,
  'gmail.users.messages.get': 5,
  'gmail.users.messages.import': 25,
  'gmail.users.messages.insert': 25,
  'gmail.users.messages.list': 5,
  'gmail.users.messages.modify': 5,
  'gmail.users.messages.send': 100,
  'gmail.users.messages.trash': 5,
  'gmail.users.messages.untrash': 5,
  'gmail.users.threads.delete': 20,
  'gmail.users.threads.get': 10,
  'gmail.users.threads.list': 10,
  'gmail.users.threads.modify': 10,
  'gmail.users.threads.trash': 10,
  'gmail.users.threads.untrash': 10,
};

export interface QuotaSettings {
  /** Units one user may spend in any 60 s window (Gmail: 15,000). */
  perUserPerMinute: number;
  /** Units the whole project may spend in any 60 s window (Gmail: 1,200,000). */
  perProjectPerMinute: number;
  /** Status of the per-user refusal: 429 (what Gmail sends today) or 403 (older docs). */
  userLimitStatus: 429 | 403;
}

export const DEFAULT_QUOTA: QuotaSettings = { perUserPerMinute: 15000, perProjectPerMinute: 1200000, userLimitStatus: 429 };

const WINDOW_MS = 60_000;

export class QuotaMeter {
  private readonly spent = new Map<string, { at: number; units: number }[]>();
  private readonly project: { at: number; units: number }[] = [];
  private readonly totals = new Map<string, { units: number; calls: Record<string, number>; refused: number }>();

  constructor(
    public settings: QuotaSettings,
    private readonly now: () => number,
  ) {}

  static units(methodId: string): number {
    return QUOTA_UNITS[methodId] ?? 5;
  }

  private windowSum(entries: { at: number; units: number }[]): number {
    const limit = this.now() - WINDOW_MS;
    while (entries.length > 0 && entries[0]!.at <= limit) entries.shift();
    return entries.reduce((s, e) => s + e.units, 0);
  }

  /** Charges a call to `email`, or throws the 429 Google would send. */
  charge(email: string, methodId: string): void {
    const units = QuotaMeter.units(methodId);
    const mine = this.spent.get(email) ?? [];
    this.spent.set(email, mine);
    const total = this.totals.get(email) ?? { units: 0, calls: {}, refused: 0 };
    this.totals.set(email, total);
    const retryAt = (entries: { at: number }[]): string => new Date((entries[0]?.at ?? this.now()) + WINDOW_MS).toISOString();
    if (this.windowSum(mine) + units > this.settings.perUserPerMinute) {
      total.refused++;
      throw new ApiError(this.settings.userLimitStatus, `User-rate limit exceeded.  Retry after ${retryAt(mine)}`, 'userRateLimitExceeded', 'usageLimits');
    }
    if (this.windowSum(this.project) + units > this.settings.perProjectPerMinute) {
      total.refused++;
      throw new ApiError(429, `Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'. Retry after ${retryAt(this.project)}`, 'rateLimitExceeded', 'usageLimits');
    }
    const at = this.now();
    mine.push({ at, units });
    this.project.push({ at, units });
    total.units += units;
    total.calls[methodId] = (total.calls[methodId] ?? 0) + 1;
  }

  /** Units spent by a user in the current 60 s window. */
  inWindow(email: string): number {
    return this.windowSum(this.spent.get(email) ?? []);
  }

  /** Units ever spent by a user, calls per method and refusals (for benchmarks). */
  usage(email: string): { units: number; calls: Record<string, number>; refused: number } {
    const t = this.totals.get(email);
    return t ? { units: t.units, calls: { ...t.calls }, refused: t.refused } : { units: 0, calls: {}, refused: 0 };
  }
}
