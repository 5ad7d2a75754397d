// The Gmail API emulator's HTTP server: /gmail/v1/... as the discovery document describes
// it (api.ts), the batch endpoint (batch.ts) and Google's OAuth endpoints.

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { callApi } from './api';
import { OAuthError } from './auth';
import { handleBatch } from './batch';
import { readBody, send } from './http-util';
import { gmailDiscovery, type DiscoveryValidator } from './discovery-validator';
import { ApiError, backendError } from './errors';
import type { Faults } from './faults';
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

export async function startGmailEmulator(opts: GmailEmulatorOptions = {}): Promise<GmailEmulator> {
  const state = new GmailState(opts);
  const discovery = gmailDiscovery();
  const server = http.createServer((req, res) => {
    handle(state, discovery, req, res).catch((e: unknown) => {
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
  if (req.method === 'POST' && url.pathname === '/batch/gmail/v1') {
    await handleBatch(state, discovery, req, res, entry);
    return;
  }
  if (!url.pathname.startsWith('/gmail/')) {
    await handleOAuth(state, url, req, answer, res);
    return;
  }
  const result = await callApi(
    state,
    discovery,
    { method: req.method ?? '', url, authorization: req.headers.authorization, contentType: req.headers['content-type'], readBody: () => readBody(req) },
    entry,
  );
  if (result.kind === 'drop') {
    entry.status = -1;
    res.socket?.destroy();
    return;
  }
  answer(result.status, result.body, result.headers);
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
