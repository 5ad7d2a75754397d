// Per-test fault injection. A rule matches calls by method (the discovery id, or its tail
// such as "history.list", or "oauth.token" for the token endpoint) and user, fires a number
// of times, then disappears. Token expiry and revocation act on the token store directly.

import type { AuthServer } from './auth';

export type Fault =
  /** Answer with this status and Google's error body (429 rateLimitExceeded, 500 backendError...). */
  | { kind: 'status'; status: number; reason?: string; message?: string }
  /** history.list answers 404 (the startHistoryId is past the horizon). */
  | { kind: 'historyGone' }
  /** Wait before handling the call. */
  | { kind: 'slow'; delayMs: number }
  /** Close the connection without an answer: before the call is applied, or after it was. */
  | { kind: 'drop'; when: 'before' | 'after' }
  /** Rewrite the response body (to prove that response validation catches bad shapes). */
  | { kind: 'reshape'; mutate: (body: unknown) => unknown };

export interface FaultRule {
  method?: string;
  user?: string;
  /** How many matching calls it affects (default 1; Infinity for all). */
  times?: number;
  fault: Fault;
}

export class Faults {
  private rules: (FaultRule & { left: number })[] = [];

  constructor(private readonly auth: AuthServer) {}

  inject(rule: FaultRule): void {
    this.rules.push({ ...rule, left: rule.times ?? 1 });
  }

  /** Shorthand: the next `times` calls of `method` fail with `status`. */
  failNext(method: string, status: number, times = 1, reason?: string): void {
    this.inject({ method, times, fault: { kind: 'status', status, reason } });
  }

  clear(): void {
    this.rules = [];
  }

  /** Every access token (of one user, or all) is expired: calls answer 401 until refresh. */
  expireTokens(email?: string): void {
    this.auth.expireAccessTokens(email);
  }

  /** The user revoked the app: 401 on calls, invalid_grant on refresh. */
  revokeGrant(email: string): void {
    this.auth.revokeGrants(email);
  }

  /** The faults that apply to this call, consuming one use of each matching rule. */
  take(methodId: string, email: string | undefined): Fault[] {
    const hits: Fault[] = [];
    for (const r of this.rules) {
      if (r.left <= 0) continue;
      if (r.method !== undefined && r.method !== '*' && r.method !== methodId && !methodId.endsWith('.' + r.method)) continue;
      if (r.user !== undefined && r.user !== email) continue;
      r.left--;
      hits.push(r.fault);
    }
    this.rules = this.rules.filter((r) => r.left > 0);
    return hits;
  }
}
