// The Gmail API emulator's HTTP server: /gmail/v1/... as the discovery document describes
// it, plus Google's OAuth endpoints. Every call goes: route (discovery) -> authenticate ->
// scopes -> injected faults -> request validation (400) -> quota (429) -> handler ->
// response validation (a violation is recorded in state.violations) -> answer.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuthError } from './auth';
import { gmailDiscovery, type DiscoveryValidator } from './discovery-validator';
import { ApiError, backendError, badRequest, forbidden, googleErrorShapeErrors, notFound } from './errors';
import type { Fault, Faults } from './faults';
import { HANDLERS } from './handlers';
import type { Mailbox } from './messages';
import { GmailState, type GmailEmulatorOptions } from './state';

export interface GmailEmulator {
  /** For google.gmail({ rootUrl }): "http://127.0.0.1:PORT/". */
  rootUrl: string;
  /** The OAuth token endpoint (OAuth2Client endpoints.oauth2TokenUrl). */
  tokenUrl: string;
  /** The consent page (OAuth2Client endpoints.oauth2AuthBaseUrl). */
  authUrl: string;
  /** Device flow: where to POST for a device code. */
  deviceCodeUrl: string;
  revokeUrl: string;
  state: GmailState;
  faults: Faults;
  stop(): Promise<void>;
}

export type { GmailEmulatorOptions } from './state';

const MAX_BODY = 50 * 1024 * 1024;

class Dropped extends Error {}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new ApiError(413, 'Request too large', 'uploadTooLarge'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (body === undefined) {
    res.writeHead(status === 200 ? 204 : status, headers);
    res.end();
    return;
  }
  const text = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export async function startGmailEmulator(opts: GmailEmulatorOptions = {}): Promise<GmailEmulator> {
  const state = new GmailState(opts);
  const discovery = gmailDiscovery();
  const server = http.createServer((req, res) => {
    handle(state, discovery, req, res).catch((e: unknown) => {
      if (e instanceof Dropped) return;
      state.violations.push(`internal error: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) send(res, 500, backendError().body());
      else res.destroy();
    });
  });
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve);
  });
  const { address, port } = server.address() as AddressInfo;
  const base = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  state.baseUrl = base;
  return {
    rootUrl: `${base}/`,
    tokenUrl: `${base}/token`,
    authUrl: `${base}/o/oauth2/v2/auth`,
    deviceCodeUrl: `${base}/device/code`,
    revokeUrl: `${base}/revoke`,
    state,
    faults: state.faults,
    async stop() {
      await state.watches.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function handle(state: GmailState, discovery: DiscoveryValidator, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', state.baseUrl);
  const entry: GmailState['requests'][number] = { method: req.method ?? '', path: url.pathname, status: 0 };
  state.requests.push(entry);
  const answer = (status: number, body: unknown, headers?: Record<string, string>): void => {
    entry.status = body === undefined && status === 200 ? 204 : status;
    send(res, status, body, headers);
  };
  if (!url.pathname.startsWith('/gmail/')) {
    await handleOAuth(state, url, req, answer, res);
    return;
  }
  const matched = discovery.match(req.method ?? '', url.pathname.slice(1));
  try {
    if (!matched) throw notFound(`Method not found: ${req.method} ${url.pathname}`);
    const { method, pathParams } = matched;
    entry.methodId = method.id;
    const authz = req.headers.authorization;
    const bearer = authz?.startsWith('Bearer ') ? authz.slice(7).trim() : (url.searchParams.get('access_token') ?? url.searchParams.get('oauth_token') ?? undefined);
    const who = state.auth.authenticate(bearer);
    entry.user = who.email;
    const mailbox = resolveUser(state, pathParams.userId!, who.email);
    const allowed = (method as { scopes?: string[] }).scopes ?? [];
    if (!allowed.some((s) => who.scopes.includes(s))) {
      throw new ApiError(403, 'Request had insufficient authentication scopes.', 'insufficientPermissions');
    }
    const faults = state.faults.take(method.id, mailbox.email);
    await applyFaultsBefore(faults, method.id, res);

    const raw = await readBody(req);
    let body: unknown;
    if (raw.length > 0) {
      const type = req.headers['content-type'] ?? '';
      if (!type.startsWith('application/json')) throw badRequest(`Media upload is not emulated (${type}): send the message as requestBody.raw`);
      try {
        body = JSON.parse(raw.toString('utf8'));
      } catch {
        throw badRequest('Invalid JSON payload received.', 'parseError');
      }
    }
    const problems = discovery.validateRequest(method, url.searchParams, body);
    if (problems.length > 0) throw badRequest(`Invalid request: ${problems.join('; ')}`);
    state.quota.charge(mailbox.email, method.id);

    const handler = HANDLERS[method.id];
    if (!handler) throw new ApiError(501, `${method.id} is not emulated`, 'notImplemented');
    let result = handler({ state, mailbox, query: url.searchParams, pathParams, body });
    for (const f of faults) if (f.kind === 'reshape') result = f.mutate(result);
    const violations = discovery.validateResponse(method.id, result);
    if (violations.length > 0) state.violations.push(`${method.id}: ${violations.join('; ')}`);
    if (faults.some((f) => f.kind === 'drop' && f.when === 'after')) {
      entry.status = -1;
      res.socket?.destroy();
      return;
    }
    answer(200, result);
  } catch (e) {
    if (e instanceof Dropped) {
      entry.status = -1;
      return;
    }
    if (!(e instanceof ApiError)) throw e;
    const body = e.body();
    const shape = googleErrorShapeErrors(body);
    if (shape.length > 0) state.violations.push(`error body: ${shape.join('; ')}`);
    answer(e.code, body, e.extraHeaders);
  }
}

function resolveUser(state: GmailState, userId: string, authenticated: string): Mailbox {
  if (userId !== 'me' && userId.toLowerCase() !== authenticated.toLowerCase()) throw forbidden(`Delegation denied for ${authenticated}`);
  const mb = state.mailboxes.get(authenticated.toLowerCase());
  if (!mb) throw new ApiError(400, 'Precondition check failed.', 'failedPrecondition');
  return mb;
}

async function applyFaultsBefore(faults: Fault[], methodId: string, res: http.ServerResponse): Promise<void> {
  for (const f of faults) {
    switch (f.kind) {
      case 'slow':
        await new Promise((r) => setTimeout(r, f.delayMs));
        break;
      case 'drop':
        if (f.when === 'before') {
          res.socket?.destroy();
          throw new Dropped();
        }
        break;
      case 'status': {
        const reason = f.reason ?? (f.status === 429 ? 'rateLimitExceeded' : f.status >= 500 ? 'backendError' : 'failedPrecondition');
        const domain = f.status === 429 || /RateLimit/.test(reason) ? 'usageLimits' : 'global';
        const message = f.message ?? (f.status === 429 ? 'Too many concurrent requests for user' : f.status >= 500 ? 'Backend Error' : 'Injected fault');
        throw new ApiError(f.status, message, reason, domain);
      }
      case 'historyGone':
        if (methodId === 'gmail.users.history.list') throw notFound();
        break;
      case 'reshape':
        break;
    }
  }
}

type Answer = (status: number, body: unknown, headers?: Record<string, string>) => void;

async function handleOAuth(state: GmailState, url: URL, req: http.IncomingMessage, answer: Answer, res: http.ServerResponse): Promise<void> {
  const route = `${req.method} ${url.pathname}`;
  try {
    const faults = state.faults.take(route === 'POST /token' ? 'oauth.token' : 'oauth.other', undefined);
    for (const f of faults) {
      if (f.kind === 'slow') await new Promise((r) => setTimeout(r, f.delayMs));
      if (f.kind === 'drop') {
        res.socket?.destroy();
        return;
      }
      if (f.kind === 'status') throw new OAuthError(f.status, f.reason ?? 'internal_failure', f.message ?? 'Backend Error');
    }
    const form = new URLSearchParams((await readBody(req)).toString('utf8'));
    for (const [k, v] of url.searchParams) if (!form.has(k)) form.set(k, v);
    const basic = req.headers.authorization;
    if (basic?.startsWith('Basic ')) {
      const [id, secret] = Buffer.from(basic.slice(6), 'base64').toString().split(':');
      if (id && !form.has('client_id')) form.set('client_id', decodeURIComponent(id));
      if (secret && !form.has('client_secret')) form.set('client_secret', decodeURIComponent(secret));
    }
    switch (route) {
      case 'GET /o/oauth2/v2/auth': {
        const consenting = state.opts.consentUser ?? [...state.mailboxes.values()][0]?.email;
        const to = state.auth.authorize(url.searchParams, consenting);
        res.writeHead(302, { location: to.toString() });
        res.end();
        return;
      }
      case 'POST /token':
        answer(200, state.auth.token(form));
        return;
      case 'POST /device/code':
        answer(200, state.auth.deviceCode(form, `${state.baseUrl}/device`));
        return;
      case 'GET /device': {
        // The verification page, reduced to a link a demo can open: ?user_code=...&email=...
        const ok = state.auth.approveDevice(form.get('user_code') ?? '', form.get('email') ?? [...state.mailboxes.values()][0]?.email ?? '');
        answer(ok ? 200 : 404, { approved: ok });
        return;
      }
      case 'POST /revoke':
        state.auth.revoke(form.get('token') ?? '');
        answer(200, {});
        return;
      case 'GET /tokeninfo':
      case 'POST /tokeninfo': {
        const bearer = req.headers.authorization?.startsWith('Bearer ') ? req.headers.authorization.slice(7) : undefined;
        answer(200, state.auth.tokenInfo(form.get('access_token') ?? bearer ?? ''));
        return;
      }
      default:
        answer(404, new ApiError(404, `Not found: ${route}`, 'notFound').body());
    }
  } catch (e) {
    if (e instanceof OAuthError) answer(e.status, { error: e.error, error_description: e.description });
    else if (e instanceof ApiError) answer(e.code, e.body());
    else throw e;
  }
}
