// The Graph client: @microsoft/microsoft-graph-client with one middleware of ours in place
// of its retry handler, so that throttling is handled per mailbox as Outlook counts it:
// at most `maxConcurrent` requests in flight, at most `requestsPerWindow` per window (a
// sliding log), and a 429/503 Retry-After pauses this mailbox only; the caller's await is
// all that waits, so no other account and no IMAP connection is held up (invariant 6).
import { Client, GraphError, HTTPMessageHandler, ResponseType, type Context, type Middleware } from '@microsoft/microsoft-graph-client';
import { Agent } from 'undici';
import { AdapterError, type TrafficStats } from '../contract';
import { type HttpPost, TokenSource } from './auth';
import type { GraphSettings } from './mapping';

/**
 * One per mailbox in the process: detached body fetches share the limits of the poll.
 * Outlook counts every request, and every member of a $batch, against the mailbox: a
 * request of weight n (a batch of n) takes n places in the window and min(n, max) of the
 * concurrency slots (Outlook runs a batch's members 4 at a time). The window is a sliding
 * log, as strict as the emulator's accounting: a token bucket refilled at 10,000/600 s would
 * let a full bucket plus its refill through within one 10-minute window, twice the limit.
 */
export class MailboxLimiter {
  private inFlight = 0;
  /** Waiting for slots, served in order (a batch is not overtaken by single requests). */
  private readonly queue: Array<{ slots: number; grant: () => void }> = [];
  private readonly sent: number[] = [];
  private pausedUntil = 0;
  /** Throttled answers seen (429/503), for status and tests. */
  throttled = 0;
  /** Requests counted (batch members one by one), for benchmarks and tests. */
  counted = 0;
  /** The most slots ever held at once, for tests. */
  peakInFlight = 0;
  /** When a request first had to wait for room in the window (Date.now()), 0 never; for benchmarks. */
  windowFullAt = 0;

  constructor(private readonly s: Pick<GraphSettings, 'maxConcurrent' | 'requestsPerWindow' | 'windowSeconds'>) {}

  /** Waits for a slot and room in the window; returns the slots to hand back to release(). */
  async acquire(weight = 1): Promise<number> {
    const slots = Math.max(1, Math.min(weight, this.s.maxConcurrent));
    const places = Math.max(1, Math.min(weight, this.s.requestsPerWindow));
    if (this.queue.length > 0 || this.inFlight + slots > this.s.maxConcurrent) {
      await new Promise<void>((grant) => this.queue.push({ slots, grant }));
    } else this.take(slots);
    // Slots held: wait out a pause or a full window (every other request would wait too).
    for (;;) {
      const now = Date.now();
      // A little margin: the server counts a request when it arrives, after we sent it.
      const windowMs = this.s.windowSeconds * 1000;
      const windowStart = now - windowMs - Math.min(1000, windowMs / 100);
      while (this.sent.length > 0 && this.sent[0] <= windowStart) this.sent.shift();
      const over = this.sent.length + places - this.s.requestsPerWindow;
      const wait = Math.max(this.pausedUntil - now, over > 0 ? this.sent[over - 1] - windowStart : 0);
      if (wait <= 0) break;
      if (over > 0 && this.windowFullAt === 0) this.windowFullAt = now;
      await new Promise((r) => setTimeout(r, Math.min(wait + 1, 60_000)));
    }
    const now = Date.now();
    for (let i = 0; i < places; i++) this.sent.push(now);
    this.counted += weight;
    return slots;
  }

  release(slots = 1): void {
    this.inFlight -= slots;
    while (this.queue.length > 0 && this.inFlight + this.queue[0].slots <= this.s.maxConcurrent) {
      const next = this.queue.shift()!;
      this.take(next.slots);
      next.grant();
    }
  }

  private take(slots: number): void {
    this.inFlight += slots;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
  }

  pause(seconds: number): void {
    this.throttled++;
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + seconds * 1000);
  }
}

const limiters = new Map<string, MailboxLimiter>();

export function limiterFor(s: GraphSettings): MailboxLimiter {
  const k = `${s.graphUrl}|${s.mailbox.toLowerCase()}`;
  let l = limiters.get(k);
  if (!l) limiters.set(k, (l = new MailboxLimiter(s)));
  return l;
}

function retryAfter(res: Response, attempt: number): number {
  const h = res.headers.get('retry-after');
  const n = h === null ? NaN : Number(h);
  if (Number.isFinite(n) && n >= 0) return n;
  return Math.min(60, 2 ** attempt);
}

/** How many requests a $batch body holds (each counts against the mailbox). */
function batchSize(body: unknown): number {
  try {
    const parsed = JSON.parse(typeof body === 'string' ? body : '') as { requests?: unknown[] };
    return Array.isArray(parsed.requests) ? Math.max(1, parsed.requests.length) : 1;
  } catch {
    return 1;
  }
}

/** Auth, limits and retries around each HTTP exchange (batch members are handled by the caller). */
class GatewayHandler implements Middleware {
  private next!: Middleware;

  constructor(
    private readonly tokens: TokenSource,
    private readonly limiter: MailboxLimiter,
    private readonly s: GraphSettings,
    private readonly stats: TrafficStats,
  ) {}

  setNext(next: Middleware): void {
    this.next = next;
  }

  /** The library wraps what a middleware throws into a GraphError; this keeps ours. */
  lastError: AdapterError | null = null;

  async execute(ctx: Context): Promise<void> {
    try {
      await this.exchange(ctx);
    } catch (err) {
      if (err instanceof AdapterError) this.lastError = err;
      throw err;
    }
  }

  private async exchange(ctx: Context): Promise<void> {
    const method = (ctx.options?.method ?? 'GET').toUpperCase();
    const batch = method === 'POST' && /\/\$batch$/.test(String(ctx.request));
    const idempotent = method !== 'POST' || batch || /\/delta/.test(String(ctx.request));
    const weight = batch ? batchSize(ctx.options?.body) : 1;
    let authRetried = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.tokens.get();
      const slots = await this.limiter.acquire(weight);
      try {
        const options = { ...(ctx.options ?? {}) } as RequestInit;
        const headers = new Headers(options.headers);
        headers.set('Authorization', `Bearer ${token}`);
        options.headers = Object.fromEntries(headers.entries());
        options.signal = AbortSignal.timeout(this.s.timeoutMs);
        ctx.options = options as Context['options'];
        this.stats.commands++;
        await this.next.execute(ctx);
      } catch (err) {
        if (!idempotent || attempt >= this.s.maxAttempts) {
          throw new AdapterError('unavailable', `Graph is unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
        }
        await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
        continue;
      } finally {
        this.limiter.release(slots);
      }
      const res = ctx.response!;
      if ((res.status === 429 || res.status === 503) && attempt < this.s.maxAttempts) {
        this.limiter.pause(retryAfter(res, attempt));
        await res.body?.cancel().catch(() => undefined);
        continue;
      }
      if (res.status === 401 && !authRetried) {
        // Expired before its time or revoked: renew once (a revoked grant fails there).
        authRetried = true;
        this.tokens.invalidate();
        await res.body?.cancel().catch(() => undefined);
        continue;
      }
      return;
    }
  }
}

export type GraphRequestInit = { headers?: Record<string, string> };

export interface BatchMember {
  id: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  url: string;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface BatchAnswer {
  id: string;
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** The mailbox's Graph API: the library's fluent requests, with our middleware. */
export class GraphApi {
  readonly client: Client;
  readonly limiter: MailboxLimiter;
  readonly tokens: TokenSource;
  private readonly dispatcher: Agent | undefined;
  /** `/users/{mailbox}` */
  readonly base: string;
  private readonly gateway: GatewayHandler;

  constructor(
    readonly settings: GraphSettings,
    credentials: Record<string, string>,
    readonly stats: TrafficStats,
    save?: (credentials: Record<string, string>) => Promise<void>,
  ) {
    this.dispatcher = settings.caPem ? new Agent({ connect: { ca: settings.caPem } }) : undefined;
    this.tokens = new TokenSource(settings, credentials, this.postForm, save);
    this.limiter = limiterFor(settings);
    const gateway = new GatewayHandler(this.tokens, this.limiter, settings, stats);
    this.gateway = gateway;
    gateway.setNext(new HTTPMessageHandler());
    const host = new URL(settings.graphUrl).hostname;
    this.client = Client.initWithMiddleware({
      middleware: gateway,
      baseUrl: `${settings.graphUrl}/`,
      defaultVersion: 'v1.0',
      customHosts: new Set([host]),
      fetchOptions: (this.dispatcher ? { dispatcher: this.dispatcher } : {}) as never,
    });
    this.base = `/users/${encodeURIComponent(settings.mailbox)}`;
  }

  /** Form POST to the login service (token endpoints). */
  readonly postForm: HttpPost = async (url, form) => {
    this.stats.commands++;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
      signal: AbortSignal.timeout(this.settings.timeoutMs),
      ...(this.dispatcher ? { dispatcher: this.dispatcher } : {}),
    } as RequestInit);
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { error: `non-JSON answer (HTTP ${res.status})` };
    }
    return { status: res.status, body };
  };

  async get<T>(path: string, headers: Record<string, string> = {}): Promise<T> {
    return this.call(() => this.client.api(path).headers(headers).get() as Promise<T>);
  }

  async post<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.call(() => this.client.api(path).headers(headers).post(body) as Promise<T>);
  }

  async patch<T>(path: string, body: unknown, headers: Record<string, string> = {}): Promise<T> {
    return this.call(() => this.client.api(path).headers(headers).patch(body) as Promise<T>);
  }

  async delete(path: string): Promise<void> {
    await this.call(() => this.client.api(path).delete() as Promise<unknown>);
  }

  async getBytes(path: string): Promise<Buffer> {
    const ab = await this.call(() => this.client.api(path).responseType(ResponseType.ARRAYBUFFER).get() as Promise<ArrayBuffer>);
    const buf = Buffer.from(ab);
    this.stats.bytesIn += buf.length;
    return buf;
  }

  /**
   * JSON $batch (up to 20 members): members throttled inside the batch (429/503) are sent
   * again after their Retry-After, so each member ends with its own final answer.
   */
  async batch(members: readonly BatchMember[]): Promise<Map<string, BatchAnswer>> {
    const answers = new Map<string, BatchAnswer>();
    let todo = [...members];
    for (let attempt = 1; todo.length > 0; attempt++) {
      const body = { requests: todo.map((m) => ({ id: m.id, method: m.method, url: m.url, ...(m.body !== undefined ? { body: m.body, headers: { 'Content-Type': 'application/json', ...m.headers } } : m.headers ? { headers: m.headers } : {}) })) };
      const res = await this.post<{ responses: BatchAnswer[] }>('/$batch', body);
      const again: BatchMember[] = [];
      let wait = 0;
      for (const r of res.responses ?? []) {
        const m = todo.find((t) => t.id === r.id);
        if (!m) continue;
        if ((r.status === 429 || r.status === 503) && attempt < this.settings.maxAttempts) {
          again.push(m);
          const h = r.headers ? Object.entries(r.headers).find(([k]) => k.toLowerCase() === 'retry-after')?.[1] : undefined;
          wait = Math.max(wait, h !== undefined && Number.isFinite(Number(h)) ? Number(h) : Math.min(60, 2 ** attempt));
          continue;
        }
        answers.set(r.id, r);
      }
      for (const m of todo) if (!answers.has(m.id) && !again.includes(m)) answers.set(m.id, { id: m.id, status: 500 });
      if (again.length > 0) this.limiter.pause(wait);
      todo = again;
    }
    return answers;
  }

  private async call<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      const ours = this.gateway.lastError;
      if (err instanceof GraphError && err.code === 'AdapterError' && ours) {
        this.gateway.lastError = null;
        throw ours;
      }
      throw toAdapterError(err);
    }
  }

  dispose(): void {
    void this.dispatcher?.close().catch(() => undefined);
  }
}

/** Graph's answer as an AdapterError kind (the sync engine's vocabulary). */
export function toAdapterError(err: unknown): unknown {
  if (err instanceof AdapterError) return err;
  if (err instanceof GraphError) {
    const status = err.statusCode;
    const what = `Graph ${status} ${err.code ?? ''}: ${err.message}`.trim();
    if (status === 401 || status === 403) return new AdapterError('auth', what, { cause: err });
    if (status === 404) return new AdapterError('gone', what, { cause: err });
    if (status === 410) return new AdapterError('gone', what, { cause: err });
    if (status === 429 || status === 503 || status === 504 || status === 502 || status === -1) {
      const ra = Number(err.headers?.get?.('retry-after'));
      return new AdapterError('unavailable', what, { cause: err, retryAfterSeconds: Number.isFinite(ra) ? ra : undefined });
    }
    if (status >= 500) return new AdapterError('unavailable', what, { cause: err });
    return new AdapterError('protocol', what, { cause: err });
  }
  return new AdapterError('unavailable', err instanceof Error ? err.message : String(err), { cause: err });
}

export function graphStatus(err: unknown): number | null {
  const cause = err instanceof AdapterError ? (err.cause as unknown) : err;
  return cause instanceof GraphError ? cause.statusCode : null;
}

export function graphCode(err: unknown): string | null {
  const cause = err instanceof AdapterError ? (err.cause as unknown) : err;
  return cause instanceof GraphError ? (cause.code ?? null) : null;
}
