// memgate's push listener (issues 4 and 5): the HTTP endpoint backends post change
// notifications to, behind MEMGATE_PUSH_PUBLIC_URL (normally a TLS-terminating proxy;
// Graph wants https with a certificate it trusts).
//
//   POST .../push/<token>             one subscription's notifications. Graph webhooks:
//                                     ?validationToken=... is answered 200 text/plain with
//                                     the decoded token; a notification collection 202 at
//                                     once, verified (clientState) and acted on after.
//   POST .../push/gmail/<token>       Cloud Pub/Sub push of Gmail watches: one endpoint for
//   POST .../push/gmail?token=<token> every account (the push subscription is set up once in
//                                     Google Cloud); <token> is memgate's secret; the
//                                     message's emailAddress names the watched accounts.
//   GET  .../push/health              200 (for load balancers)
//
// A delivery for an account this process holds goes to its runner; for one held elsewhere
// it is queued in the store and taken by the holder on its next lease scan. Bad requests
// get a 4xx; nothing a client sends can crash the process.
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import type { PgPushStore, PushRow } from '../store/push-subscriptions';

/** Notification bodies are small (Graph batches a few notifications; Pub/Sub one message). */
export const MAX_PUSH_BODY = 1024 * 1024;

export interface PushLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export interface PushListenerDeps {
  store: Pick<PgPushStore, 'byToken' | 'byRemoteId' | 'queueDelivery'>;
  /** Hands a delivery to the runner of an account held here; false when held elsewhere. */
  deliver(accountId: string, subscriptionId: string, body: Buffer): boolean;
  /** The secret of the Gmail Pub/Sub endpoint; null: that endpoint is off. */
  pubsubToken: string | null;
  log: PushLogger;
  /** Serve https with this certificate (else plain http behind a proxy). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface ListeningPush {
  port: number;
  /** This listener's own base URL (for tests and a public URL of 'listener'). */
  localUrl: string;
  close(): Promise<void>;
}

const TOKEN = '[A-Za-z0-9_-]{16,128}';
const SUBSCRIPTION_PATH = new RegExp(`(?:^|/)push/(${TOKEN})$`);
const PUBSUB_PATH = new RegExp(`(?:^|/)push/gmail(?:/(${TOKEN}))?$`);
const HEALTH_PATH = /(?:^|\/)push\/health$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function reply(res: http.ServerResponse, status: number, text = '', contentType = 'text/plain; charset=utf-8'): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text), 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
  res.end(text);
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_PUSH_BODY) return reject(new HttpError(413, 'body too large'));
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_PUSH_BODY) {
        req.removeAllListeners('data');
        req.resume();
        reject(new HttpError(413, 'body too large'));
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The address a Gmail Pub/Sub push names: message.data is base64 of {emailAddress, historyId}. */
export function pubsubAddress(body: Buffer): string | null {
  try {
    const data = (JSON.parse(body.toString('utf8')) as { message?: { data?: unknown } } | null)?.message?.data;
    if (typeof data !== 'string' || !/^[A-Za-z0-9+/_-]*={0,2}$/.test(data)) return null;
    const inner = JSON.parse(Buffer.from(data, 'base64').toString('utf8')) as { emailAddress?: unknown } | null;
    const address = inner?.emailAddress;
    return typeof address === 'string' && address.includes('@') && address.length <= 320 ? address.toLowerCase() : null;
  } catch {
    return null;
  }
}

export async function startPushListener(deps: PushListenerDeps, at: { host: string; port: number }): Promise<ListeningPush> {
  /** To the holder's runner, or queued for the process that holds the account. */
  const hand = async (row: PushRow, body: Buffer): Promise<void> => {
    if (deps.deliver(row.accountId, row.id, body)) return;
    try {
      await deps.store.queueDelivery(row, body);
    } catch (err) {
      deps.log.warn({ err, accountId: row.accountId }, 'push: queueing a delivery for another process failed');
      // Not kept: the backend should send it again.
      throw new HttpError(503, 'try again later');
    }
  };

  const subscription = async (req: http.IncomingMessage, res: http.ServerResponse, token: string, query: URLSearchParams): Promise<void> => {
    const validation = query.get('validationToken');
    if (validation !== null) {
      // Graph checks the URL before it creates the subscription: echo the decoded token.
      await readBody(req);
      if (!(await deps.store.byToken(token))) throw new HttpError(404, 'no such subscription');
      reply(res, 200, validation);
      return;
    }
    const body = await readBody(req);
    const row = await deps.store.byToken(token);
    if (!row) throw new HttpError(404, 'no such subscription');
    try {
      JSON.parse(body.toString('utf8'));
    } catch {
      throw new HttpError(400, 'the body is not JSON');
    }
    // 202 whatever the clientState says (webhooks.md); the adapter verifies before a sync.
    await hand(row, body);
    reply(res, 202);
  };

  const pubsub = async (req: http.IncomingMessage, res: http.ServerResponse, token: string | null): Promise<void> => {
    if (deps.pubsubToken === null) throw new HttpError(404, 'no Pub/Sub endpoint here');
    if (token === null || !sameSecret(token, deps.pubsubToken)) {
      await readBody(req).catch(() => undefined);
      throw new HttpError(403, 'forbidden');
    }
    const body = await readBody(req);
    const address = pubsubAddress(body);
    if (address === null) throw new HttpError(400, 'not a Gmail Pub/Sub push message');
    const rows = await deps.store.byRemoteId(address);
    // Nothing watches this address (any more): acknowledged, so Pub/Sub does not retry it.
    if (rows.length === 0) return reply(res, 204);
    for (const row of rows) await hand(row, body);
    reply(res, 202);
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://push.invalid');
    } catch {
      throw new HttpError(400, 'bad request target');
    }
    const path = url.pathname;
    if (HEALTH_PATH.test(path)) {
      if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'method not allowed');
      return reply(res, 200, 'ok');
    }
    const gmail = PUBSUB_PATH.exec(path);
    const sub = gmail ? null : SUBSCRIPTION_PATH.exec(path);
    if (!gmail && !sub) throw new HttpError(404, 'not found');
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      throw new HttpError(405, 'method not allowed');
    }
    if (gmail) return pubsub(req, res, gmail[1] ?? url.searchParams.get('token'));
    return subscription(req, res, sub![1], url.searchParams);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      if (err instanceof HttpError) {
        deps.log.debug({ status: err.status, path: req.url?.slice(0, 200) }, `push: ${err.message}`);
        // A body left unread (too large) is not waited for.
        if (err.status === 413) res.setHeader('Connection', 'close');
        reply(res, err.status, `${err.message}\n`);
      } else {
        deps.log.warn({ err }, 'push: request failed');
        reply(res, 500, 'internal error\n');
      }
    });
  };

  const server = deps.tls ? https.createServer({ cert: deps.tls.cert, key: deps.tls.key }, onRequest) : http.createServer(onRequest);
  // Slow or broken clients are cut off; the listener lives on.
  server.headersTimeout = 10_000;
  server.requestTimeout = 15_000;
  server.maxHeadersCount = 100;
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => deps.log.warn({ err }, 'push: listener error'));
  const port = (server.address() as AddressInfo).port;
  const host = at.host.includes(':') ? `[${at.host}]` : at.host === '0.0.0.0' ? '127.0.0.1' : at.host;
  return {
    port,
    localUrl: `${deps.tls ? 'https' : 'http'}://${host}:${port}`,
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
