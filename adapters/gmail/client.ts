// The Gmail API as the adapter uses it: googleapis (pinned 178.0.0, the last release for
// Node 20) with an OAuth2 client that refreshes the access token before it expires, every
// call paced by the user's quota budget, 429/5xx retried with backoff, errors turned into
// AdapterErrors, and Gmail's batch endpoint for metadata and raw fetches.
import { randomBytes } from 'node:crypto';
import { google, type Auth, type gmail_v1 } from 'googleapis';
import { AdapterError, type TrafficStats } from '../contract';
import { serviceAccountAuth, serviceAccountRefused } from './service-account';
import { budgetFor, DEFAULT_UNITS_PER_MINUTE, GMAIL_UNITS, REAL_CLOCK, type Clock, type GmailMethod, type QuotaBudget } from './quota';

export const GOOGLE_API_ROOT = 'https://gmail.googleapis.com/';
export const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
export const GOOGLE_DEVICE_CODE_URL = 'https://oauth2.googleapis.com/device/code';
export const GOOGLE_REVOKE_URL = 'https://oauth2.googleapis.com/revoke';
export const GMAIL_SCOPE = 'https://mail.google.com/';
/** The longest wait a "Retry after <time>" from Gmail is followed for (a quota window, plus room). */
const MAX_NAMED_WAIT_MS = 5 * 60_000;

export interface GmailSettings {
  /** The Gmail address of the account (checked against users.getProfile). */
  address: string;
  /** The OAuth client of the installed-app / device grant ('' for a service account). */
  clientId: string;
  /** A service account with domain-wide delegation acts as `address` (no user grant). */
  serviceAccountEmail?: string;
  apiRootUrl: string;
  tokenUrl: string;
  pollIntervalSeconds?: number;
  /** The per-user ceiling in Gmail units per minute (Google: 15,000). */
  unitsPerMinute: number;
  /** Attempts per call on 429/5xx/dropped connections before the poll gives up. */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  showCategories: boolean;
  showImportant: boolean;
  /** Cloud Pub/Sub topic for users.watch ("projects/P/topics/T"); none: polling only. */
  pubsubTopic?: string;
  /** Records per history.list page (Gmail's maximum, 500; smaller in tests). */
  historyPageSize: number;
}

export function gmailSettings(raw: Record<string, unknown>): GmailSettings {
  const str = (k: string, dflt?: string): string => {
    const v = raw[k];
    if (typeof v === 'string' && v !== '') return v;
    if (dflt !== undefined) return dflt;
    throw new AdapterError('unsupported', `Gmail account has no ${k}`);
  };
  const num = (k: string, dflt: number): number => (typeof raw[k] === 'number' && Number.isFinite(raw[k]) && (raw[k] as number) > 0 ? (raw[k] as number) : dflt);
  const root = str('apiRootUrl', GOOGLE_API_ROOT);
  const serviceAccountEmail = typeof raw.serviceAccountEmail === 'string' && raw.serviceAccountEmail !== '' ? raw.serviceAccountEmail : undefined;
  return {
    address: str('address'),
    clientId: str('clientId', serviceAccountEmail ? '' : undefined),
    ...(serviceAccountEmail ? { serviceAccountEmail } : {}),
    apiRootUrl: root.endsWith('/') ? root : `${root}/`,
    tokenUrl: str('tokenUrl', GOOGLE_TOKEN_URL),
    pollIntervalSeconds: typeof raw.pollIntervalSeconds === 'number' ? raw.pollIntervalSeconds : undefined,
    unitsPerMinute: num('unitsPerMinute', DEFAULT_UNITS_PER_MINUTE),
    maxAttempts: Math.floor(num('maxAttempts', 5)),
    backoffBaseMs: num('backoffBaseMs', 1000),
    backoffMaxMs: num('backoffMaxMs', 32000),
    showCategories: raw.showCategories === true,
    showImportant: raw.showImportant === true,
    historyPageSize: Math.min(500, Math.floor(num('historyPageSize', 500))),
    pubsubTopic: typeof raw.pubsubTopic === 'string' && raw.pubsubTopic !== '' ? raw.pubsubTopic : undefined,
  };
}

/**
 * Stored (encrypted) credentials: the refresh token of the user's grant and the client's
 * secret, or a service account's private key (settings.serviceAccountEmail says which).
 */
export type GmailCredentials =
  | { kind: 'grant'; refreshToken: string; clientSecret: string }
  | { kind: 'serviceAccount'; privateKey: string; privateKeyId: string };

export function gmailCredentials(raw: Record<string, string>, settings?: Pick<GmailSettings, 'serviceAccountEmail'>): GmailCredentials {
  if (settings?.serviceAccountEmail) {
    if (!raw.privateKey) throw new AdapterError('auth', 'no service account key stored: add the account again with --service-account');
    return { kind: 'serviceAccount', privateKey: raw.privateKey, privateKeyId: raw.privateKeyId ?? '' };
  }
  if (!raw.refreshToken) throw new AdapterError('auth', 'no Google refresh token stored: add the account again');
  return { kind: 'grant', refreshToken: raw.refreshToken, clientSecret: raw.clientSecret ?? '' };
}

interface HttpishError {
  status?: number;
  code?: string | number;
  message?: string;
  response?: { status?: number; data?: unknown; headers?: unknown; config?: { url?: unknown } };
  config?: { url?: unknown };
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function') return (headers as Headers).get(name) ?? undefined;
  const v = (headers as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** Google's error body: `{ error: { code, message, errors: [{ reason }] } }` or OAuth's `{ error, error_description }`. */
function errorReason(data: unknown): { reason?: string; message?: string; oauth?: string } {
  if (!data || typeof data !== 'object') return {};
  const e = (data as { error?: unknown; error_description?: unknown }).error;
  if (typeof e === 'string') return { oauth: e, message: String((data as { error_description?: unknown }).error_description ?? e) };
  if (e && typeof e === 'object') {
    const errors = (e as { errors?: Array<{ reason?: string }> }).errors;
    return { reason: errors?.[0]?.reason, message: (e as { message?: string }).message };
  }
  return {};
}

/** Whether an error came from the OAuth token endpoint (refreshing the access token). */
function fromTokenEndpoint(err: HttpishError, tokenUrl: string): boolean {
  const url = String(err.response?.config?.url ?? err.config?.url ?? '');
  return url.startsWith(tokenUrl) || errorReason(err.response?.data).oauth !== undefined;
}

export class GmailClient {
  readonly auth: Auth.OAuth2Client;
  readonly gmail: gmail_v1.Gmail;
  readonly budget: QuotaBudget;

  constructor(
    readonly settings: GmailSettings,
    credentials: GmailCredentials,
    private readonly stats: TrafficStats,
    private readonly clock: Clock = REAL_CLOCK,
    budget?: QuotaBudget,
  ) {
    // Refresh five minutes before expiry, so no call runs into an expired token.
    const eagerRefreshThresholdMillis = 5 * 60_000;
    if (credentials.kind === 'serviceAccount') {
      this.auth = serviceAccountAuth({
        clientEmail: settings.serviceAccountEmail ?? '',
        privateKey: credentials.privateKey,
        privateKeyId: credentials.privateKeyId,
        subject: settings.address,
        scope: GMAIL_SCOPE,
        tokenUrl: settings.tokenUrl,
        eagerRefreshThresholdMillis,
      });
    } else {
      this.auth = new google.auth.OAuth2({
        clientId: settings.clientId,
        clientSecret: credentials.clientSecret,
        endpoints: { oauth2TokenUrl: settings.tokenUrl },
        // A 401 with a token that looked valid (revoked access token, clock skew): refresh once.
        forceRefreshOnFailure: true,
        eagerRefreshThresholdMillis,
      });
      this.auth.setCredentials({ refresh_token: credentials.refreshToken });
    }
    // No library retries: ours know the quota budget and the session's abort signal.
    this.gmail = google.gmail({ version: 'v1', auth: this.auth, rootUrl: settings.apiRootUrl, retry: false });
    this.budget = budget ?? budgetFor(settings.address, settings.unitsPerMinute, clock);
  }

  /**
   * One API call: waits for quota, retries 429 (pausing the whole user for Retry-After or
   * an exponential backoff), 5xx and dropped connections; 404 becomes `gone`.
   */
  async call<T>(method: GmailMethod, run: (signal: AbortSignal) => Promise<{ data: T }>, signal: AbortSignal, units: number = GMAIL_UNITS[method]): Promise<T> {
    let renewed = false;
    for (let attempt = 1; ; attempt++) {
      const booking = await this.budget.take(units, signal);
      this.stats.commands++;
      try {
        const res = await run(signal);
        this.budget.settle(booking);
        return res.data;
      } catch (err) {
        this.budget.settle(booking);
        if (signal.aborted) throw new AdapterError('unavailable', 'Gmail session ended', { cause: err });
        if (!renewed && this.settings.serviceAccountEmail && (err as HttpishError).response?.status === 401) {
          // The JWT client keeps its token until its own idea of expiry, also through its
          // refresh-on-401: a token Google dropped early is renewed here, once.
          renewed = true;
          this.auth.credentials = { ...this.auth.credentials, expiry_date: 1 };
          continue;
        }
        const retry = this.classify(err, method);
        if (retry.kind === 'fail') throw retry.error;
        if (attempt >= this.settings.maxAttempts) {
          throw new AdapterError('unavailable', `Gmail ${method}: ${retry.why} (gave up after ${attempt} attempts)`, {
            cause: err,
            retryAfterSeconds: Math.ceil(retry.delayMs(attempt) / 1000),
          });
        }
        const delay = retry.delayMs(attempt);
        if (retry.throttled) this.budget.pause(delay);
        await this.clock.sleep(delay, signal).catch(() => {
          throw new AdapterError('unavailable', 'Gmail session ended', { cause: err });
        });
      }
    }
  }

  /** Makes sure there is an access token valid for a while (refreshing it if not). */
  async authenticate(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.auth.getAccessToken();
        return;
      } catch (err) {
        const retry = this.classify(err, 'token');
        if (retry.kind === 'fail') throw retry.error;
        if (attempt >= this.settings.maxAttempts) {
          throw new AdapterError('unavailable', `Google token endpoint: ${retry.why}`, { cause: err, retryAfterSeconds: Math.ceil(retry.delayMs(attempt) / 1000) });
        }
        await this.clock.sleep(retry.delayMs(attempt));
      }
    }
  }

  /** Gmail names when to retry in the message: "User-rate limit exceeded.  Retry after 2024-01-15T09:01:00.000Z". */
  private namedWait(text: string): number | null {
    const until = /Retry after (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)/.exec(text)?.[1];
    const ms = until ? Date.parse(until) - this.clock.now() : NaN;
    return Number.isFinite(ms) && ms > 0 ? Math.min(ms + 250, MAX_NAMED_WAIT_MS) : null;
  }

  private backoff(attempt: number): number {
    const exp = Math.min(this.settings.backoffMaxMs, this.settings.backoffBaseMs * 2 ** (attempt - 1));
    return exp / 2 + Math.random() * (exp / 2);
  }

  private classify(err: unknown, method: string): { kind: 'retry'; why: string; throttled: boolean; delayMs: (attempt: number) => number } | { kind: 'fail'; error: AdapterError } {
    if (err instanceof AdapterError) return { kind: 'fail', error: err };
    const e = (err ?? {}) as HttpishError;
    const status = e.response?.status ?? e.status;
    const { reason, message, oauth } = errorReason(e.response?.data);
    const text = message ?? e.message ?? String(err);
    if (status === undefined || typeof status !== 'number') {
      // No HTTP answer: refused, reset, timed out.
      return { kind: 'retry', why: `no answer (${String(e.code ?? text)})`, throttled: false, delayMs: (a) => this.backoff(a) };
    }
    if (fromTokenEndpoint(e, this.settings.tokenUrl) && (oauth === 'invalid_grant' || oauth === 'invalid_client' || oauth === 'unauthorized_client' || status === 401)) {
      const sa = this.settings.serviceAccountEmail;
      if (sa) return { kind: 'fail', error: serviceAccountRefused(oauth, text, sa, this.settings.address, GMAIL_SCOPE, err) };
      return { kind: 'fail', error: new AdapterError('auth', `Google refused the grant (${oauth ?? status}: ${text}): the account needs new credentials`, { cause: err }) };
    }
    const rateLimited = status === 429 || (status === 403 && (reason === 'userRateLimitExceeded' || reason === 'rateLimitExceeded' || reason === 'quotaExceeded'));
    if (rateLimited) {
      const after = Number(headerValue(e.response?.headers, 'retry-after'));
      const untilMs = this.namedWait(text);
      return {
        kind: 'retry',
        why: `rate limited (${reason ?? status})`,
        throttled: true,
        delayMs: (a) =>
          Number.isFinite(after) && after > 0 ? after * 1000 : untilMs ?? this.backoff(a),
      };
    }
    if (status === 401 || (status === 403 && (reason === 'insufficientPermissions' || reason === 'forbidden' || reason === 'authError'))) {
      return { kind: 'fail', error: new AdapterError('auth', `Gmail refused the credentials (${status} ${reason ?? ''}: ${text})`, { cause: err }) };
    }
    if (status === 404) return { kind: 'fail', error: new AdapterError('gone', `Gmail ${method}: not found`, { cause: err }) };
    if (status >= 500) return { kind: 'retry', why: `server error ${status}`, throttled: false, delayMs: (a) => this.backoff(a) };
    return { kind: 'fail', error: new AdapterError('protocol', `Gmail ${method} answered ${status}: ${text}`, { cause: err }) };
  }

  /**
   * Up to 100 GET calls in one HTTP request (https://developers.google.com/gmail/api/guides/batch).
   * Each inner call costs its own units; inner 429/5xx answers are retried as a smaller batch.
   * Returns each call's JSON body, or null where Gmail answered 404.
   */
  async batchGet<T>(method: GmailMethod, paths: readonly string[], signal: AbortSignal): Promise<Array<T | null>> {
    const out: Array<T | null> = new Array<T | null>(paths.length).fill(null);
    let pending = paths.map((_, i) => i);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const answers = await this.call(
        method,
        (s) => this.postBatch(pending.map((i) => paths[i]!), s),
        signal,
        GMAIL_UNITS[method] * pending.length,
      );
      const again: number[] = [];
      let throttled = false;
      let named: number | null = null;
      for (let k = 0; k < pending.length; k++) {
        const i = pending[k]!;
        const a = answers[k];
        if (a && a.status >= 200 && a.status < 300) out[i] = a.body as T;
        else if (a && a.status === 404) out[i] = null;
        else if (!a || a.status === 429 || a.status >= 500 || (a.status === 403 && /RateLimitExceeded|rateLimitExceeded/.test(JSON.stringify(a.body)))) {
          throttled ||= !a || a.status !== 500;
          const wait = a ? this.namedWait(JSON.stringify(a.body)) : null;
          if (wait !== null) named = Math.max(named ?? 0, wait);
          again.push(i);
        } else if (a.status === 401 || a.status === 403) {
          throw new AdapterError('auth', `Gmail refused the credentials in a batch (${a.status})`);
        } else {
          throw new AdapterError('protocol', `Gmail ${method} in a batch answered ${a.status}`);
        }
      }
      if (again.length > 0 && attempt >= this.settings.maxAttempts) {
        throw new AdapterError('unavailable', `Gmail ${method}: ${again.length} batched calls still refused after ${attempt} attempts`, {
          retryAfterSeconds: Math.ceil(this.backoff(attempt) / 1000),
        });
      }
      if (again.length > 0) {
        const delay = named ?? this.backoff(attempt);
        if (throttled) this.budget.pause(delay);
        await this.clock.sleep(delay, signal).catch(() => {
          throw new AdapterError('unavailable', 'Gmail session ended');
        });
      }
      pending = again;
    }
    return out;
  }

  private async postBatch(paths: readonly string[], signal: AbortSignal): Promise<{ data: Array<{ status: number; body: unknown }> }> {
    const boundary = `batch_${randomBytes(12).toString('hex')}`;
    const parts = paths.map(
      (p, i) => `--${boundary}\r\nContent-Type: application/http\r\nContent-ID: <item${i}>\r\n\r\nGET /gmail/v1/users/me/${p}\r\n\r\n`,
    );
    const body = `${parts.join('')}--${boundary}--\r\n`;
    this.stats.bytesOut += body.length;
    const res = await this.auth.request<ArrayBuffer>({
      url: `${this.settings.apiRootUrl}batch/gmail/v1`,
      method: 'POST',
      headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}` },
      data: body,
      responseType: 'arraybuffer',
      signal,
      retry: false,
    });
    const buf = Buffer.from(res.data);
    this.stats.bytesIn += buf.length;
    const type = headerValue(res.headers, 'content-type') ?? '';
    return { data: parseBatchResponse(buf, type, paths.length) };
  }
}

/** Splits a multipart/mixed batch answer into the inner responses, in Content-ID order. */
export function parseBatchResponse(buf: Buffer, contentType: string, count: number): Array<{ status: number; body: unknown }> {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new AdapterError('protocol', 'Gmail batch answer without a multipart boundary');
  const text = buf.toString('latin1');
  const chunks = text.split(`--${boundary}`);
  const byIndex = new Map<number, { status: number; body: unknown }>();
  const inOrder: Array<{ status: number; body: unknown }> = [];
  for (const chunk of chunks.slice(1)) {
    if (chunk.startsWith('--')) break;
    const outerEnd = chunk.search(/\r?\n\r?\n/);
    if (outerEnd < 0) continue;
    const outerHead = chunk.slice(0, outerEnd);
    const inner = chunk.slice(outerEnd).replace(/^\r?\n\r?\n/, '');
    const statusLine = /^HTTP\/[\d.]+ (\d{3})/.exec(inner);
    if (!statusLine) throw new AdapterError('protocol', 'Gmail batch part without an HTTP status line');
    const headEnd = inner.search(/\r?\n\r?\n/);
    const rawBody = headEnd < 0 ? '' : inner.slice(headEnd).replace(/^\r?\n\r?\n/, '').replace(/\r?\n$/, '');
    let body: unknown = null;
    if (rawBody.trim() !== '') {
      try {
        body = JSON.parse(Buffer.from(rawBody, 'latin1').toString('utf8'));
      } catch (err) {
        throw new AdapterError('protocol', 'Gmail batch part is not JSON', { cause: err });
      }
    }
    const answer = { status: Number(statusLine[1]), body };
    const id = /content-id:\s*<?response-item(\d+)>?/i.exec(outerHead)?.[1];
    if (id !== undefined) byIndex.set(Number(id), answer);
    inOrder.push(answer);
  }
  if (byIndex.size === count) return Array.from({ length: count }, (_, i) => byIndex.get(i)!);
  if (inOrder.length !== count) throw new AdapterError('protocol', `Gmail batch answered ${inOrder.length} parts for ${count} calls`);
  return inOrder;
}
