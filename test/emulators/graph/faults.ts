// Fault injection and throttling accounting.
//
// A test arms faults on the handle; each matching request consumes one. Graph's own words
// are used for the answers: 429 ApplicationThrottled with Retry-After (Outlook's per-mailbox
// limits: 10,000 requests per 10 minutes, 4 concurrent requests), 503 ServiceUnavailable,
// 410 syncStateNotFound for a delta token, 401 InvalidAuthenticationToken.

export type Fault =
  | { kind: 'throttle'; retryAfterSeconds: number }
  | { kind: 'unavailable'; retryAfterSeconds?: number }
  | { kind: 'syncStateNotFound' }
  | { kind: 'expiredToken' }
  | { kind: 'delay'; ms: number }
  | { kind: 'drop' }
  /** Any Graph error answer (a refusal the emulator would not make by itself). */
  | { kind: 'error'; status: number; code: string; message: string };

export interface FaultMatch {
  /** HTTP method (any when absent). */
  method?: string;
  /** Substring of, or pattern for, the request path (any when absent). */
  path?: string | RegExp;
}

export interface FaultRule extends FaultMatch {
  fault: Fault;
  /** How many matching requests it hits; Infinity for all. */
  times: number;
  hits: number;
}

export interface ThrottlingLimits {
  /** Requests per window per mailbox (Outlook: 10,000). */
  requests: number;
  /** Window length (Outlook: 10 minutes). */
  windowMs: number;
  /** Requests in flight per mailbox (Outlook: 4). */
  concurrent: number;
}

export const OUTLOOK_LIMITS: ThrottlingLimits = { requests: 10_000, windowMs: 10 * 60_000, concurrent: 4 };

export type NotificationFault = { kind: 'duplicate' } | { kind: 'reorder'; count: number } | { kind: 'drop' };

export interface NotificationFaultRule {
  fault: NotificationFault;
  times: number;
}

type Options = Partial<FaultMatch> & { times?: number };

function matches(rule: FaultMatch, method: string, path: string): boolean {
  if (rule.method !== undefined && rule.method.toUpperCase() !== method) return false;
  if (rule.path === undefined) return true;
  return typeof rule.path === 'string' ? path.includes(rule.path) : rule.path.test(path);
}

export class Faults {
  private readonly rules: FaultRule[] = [];
  readonly notificationRules: NotificationFaultRule[] = [];
  /** Set by the auth module; called by expireAccessTokens / revokeGrants. */
  onExpireTokens: () => void = () => undefined;
  onRevokeGrants: (alsoAccessTokens: boolean) => void = () => undefined;
  throttling: ThrottlingLimits | undefined;
  private readonly windows = new Map<string, number[]>();
  private readonly inFlight = new Map<string, number>();
  /** Requests answered 429 by the accounting (not by armed faults), for assertions. */
  throttledCount = 0;

  constructor(throttling?: ThrottlingLimits) {
    this.throttling = throttling;
  }

  /** Arms a fault for the next `times` (default 1) matching requests. */
  inject(fault: Fault, opts: Options = {}): FaultRule {
    const rule: FaultRule = { fault, times: opts.times ?? 1, hits: 0, method: opts.method, path: opts.path };
    this.rules.push(rule);
    return rule;
  }

  throttle(retryAfterSeconds = 1, opts: Options = {}): FaultRule {
    return this.inject({ kind: 'throttle', retryAfterSeconds }, opts);
  }

  unavailable(retryAfterSeconds?: number, opts: Options = {}): FaultRule {
    return this.inject({ kind: 'unavailable', retryAfterSeconds }, opts);
  }

  /** The next delta request that carries a $deltatoken or $skiptoken answers 410. */
  syncStateNotFound(opts: Options = {}): FaultRule {
    return this.inject({ kind: 'syncStateNotFound' }, { path: '/messages/delta', ...opts });
  }

  expiredToken(opts: Options = {}): FaultRule {
    return this.inject({ kind: 'expiredToken' }, opts);
  }

  slow(ms: number, opts: Options = {}): FaultRule {
    return this.inject({ kind: 'delay', ms }, opts);
  }

  /** Answers with this Graph error (e.g. 400 ErrorInvalidRecipients for sendMail). */
  error(status: number, code: string, message: string, opts: Options = {}): FaultRule {
    return this.inject({ kind: 'error', status, code, message }, opts);
  }

  /** The connection is closed without an answer. */
  drop(opts: Options = {}): FaultRule {
    return this.inject({ kind: 'drop' }, opts);
  }

  /** Every access token issued so far is expired from now on. */
  expireAccessTokens(): void {
    this.onExpireTokens();
  }

  /** Every refresh token (and device grant) is revoked: refresh answers invalid_grant. */
  revokeGrants(alsoAccessTokens = true): void {
    this.onRevokeGrants(alsoAccessTokens);
  }

  /** The next `times` notification deliveries are posted twice. */
  duplicateNotifications(times = 1): void {
    this.notificationRules.push({ fault: { kind: 'duplicate' }, times });
  }

  /** The next `count` notifications are held and then delivered in reverse order. */
  reorderNotifications(count = 2): void {
    this.notificationRules.push({ fault: { kind: 'reorder', count }, times: 1 });
  }

  /** The next `times` notifications are lost (Graph then owes a `missed` lifecycle event). */
  dropNotifications(times = 1): void {
    this.notificationRules.push({ fault: { kind: 'drop' }, times });
  }

  /** Requests of a mailbox being served now (counted only while throttling is on). */
  inFlightCount(mailboxId: string): number {
    return this.inFlight.get(mailboxId) ?? 0;
  }

  setThrottling(limits: ThrottlingLimits | undefined): void {
    this.throttling = limits;
    this.windows.clear();
  }

  clear(): void {
    this.rules.length = 0;
    this.notificationRules.length = 0;
  }

  /** Armed request faults not used up yet. */
  pending(): number {
    return this.rules.filter((r) => r.hits < r.times).length;
  }

  /**
   * The armed faults matching this request, each rule consumed once, in the order armed:
   * any delays, then at most one fault that answers (or drops) the request. `accept` can
   * refuse a candidate (which then stays armed).
   */
  take(method: string, path: string, accept: (f: Fault) => boolean = () => true): Fault[] {
    const out: Fault[] = [];
    for (const rule of this.rules) {
      if (rule.hits >= rule.times || !matches(rule, method, path) || !accept(rule.fault)) continue;
      rule.hits += 1;
      out.push(rule.fault);
      if (rule.fault.kind !== 'delay') break;
    }
    return out;
  }

  takeNotificationFault(): NotificationFault | undefined {
    const rule = this.notificationRules.find((r) => r.times > 0);
    if (rule === undefined) return undefined;
    rule.times -= 1;
    return rule.fault;
  }

  /**
   * Counts a request against a mailbox: either admitted (call `release` when answered) or
   * refused with the Retry-After seconds of a 429.
   */
  admit(mailboxId: string): { release: () => void } | { retryAfter: number } {
    const limits = this.throttling;
    if (limits === undefined) return { release: () => undefined };
    const now = Date.now();
    const window = (this.windows.get(mailboxId) ?? []).filter((t) => t > now - limits.windowMs);
    this.windows.set(mailboxId, window);
    const inFlight = this.inFlight.get(mailboxId) ?? 0;
    if (inFlight >= limits.concurrent) {
      this.throttledCount += 1;
      return { retryAfter: 1 };
    }
    if (window.length >= limits.requests) {
      this.throttledCount += 1;
      return { retryAfter: Math.max(1, Math.ceil((window[0] + limits.windowMs - now) / 1000)) };
    }
    window.push(now);
    this.inFlight.set(mailboxId, inFlight + 1);
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.inFlight.set(mailboxId, Math.max(0, (this.inFlight.get(mailboxId) ?? 1) - 1));
      },
    };
  }
}
