// The Microsoft Graph mail emulator: one HTTPS server on 127.0.0.1 (ephemeral port, a
// self-signed certificate made at start) that serves both Graph (/v1.0/...) and the login
// endpoints (/{tenant}/oauth2/v2.0/...). See README.md for what is emulated and how.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import selfsigned from 'selfsigned';
import { Auth, ClientApp } from './auth';
import { DeltaService } from './delta';
import { Faults, OUTLOOK_LIMITS, ThrottlingLimits } from './faults';
import { EmuRequest } from './http';
import { Router } from './router';
import { EmulatorState } from './state';
import { SubscriptionOptions, Subscriptions } from './subscriptions';

/** The app registration the emulator knows unless told otherwise. */
export const DEFAULT_CLIENT: Required<ClientApp> = { clientId: '3f1c6a52-8d0e-4b7a-9c51-e0a7d2f4b6c9', clientSecret: 'emulator-client-secret' };

export interface GraphEmulatorOptions {
  /** 0 (default) for an ephemeral port. */
  port?: number;
  /** Mailboxes to create at start (addresses). */
  mailboxes?: string[];
  /** Enforce Outlook's per-mailbox limits (true: 10,000 per 10 minutes, 4 concurrent). */
  throttling?: boolean | Partial<ThrottlingLimits>;
  clients?: ClientApp[];
  accessTokenLifetimeSeconds?: number;
  deviceCodeLifetimeSeconds?: number;
  notifications?: Partial<SubscriptionOptions>;
}

export interface RequestRecord {
  method: string;
  path: string;
  status: number | 'dropped';
}

export interface GraphEmulator {
  /** Graph base URL for Client.init({ baseUrl }), without the version: https://127.0.0.1:PORT */
  baseUrl: string;
  /** Login base URL: token endpoint at `${loginUrl}/${tenant}/oauth2/v2.0/token`. */
  loginUrl: string;
  /** The server certificate (PEM): trust it as the CA. */
  ca: string;
  state: EmulatorState;
  faults: Faults;
  auth: Auth;
  subscriptions: Subscriptions;
  /** Every request served, in order (batch members not included). */
  requests: RequestRecord[];
  stop(): Promise<void>;
}

let certificate: Promise<{ cert: string; key: string }> | undefined;

/** One certificate per process: generating an RSA key takes a moment. */
function emulatorCertificate(): Promise<{ cert: string; key: string }> {
  certificate ??= selfsigned
    .generate([{ name: 'commonName', value: 'graph-emulator' }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 365 * 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] },
      ],
    })
    .then((p) => ({ cert: p.cert, key: p.private }));
  return certificate;
}

function limits(opt: GraphEmulatorOptions['throttling']): ThrottlingLimits | undefined {
  if (opt === undefined || opt === false) return undefined;
  return opt === true ? { ...OUTLOOK_LIMITS } : { ...OUTLOOK_LIMITS, ...opt };
}

const JSON_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';
const MAX_BODY = 150 * 1024 * 1024;

export async function startGraphEmulator(opts: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const { cert, key } = await emulatorCertificate();
  const state = new EmulatorState();
  for (const address of opts.mailboxes ?? []) state.addMailbox(address);
  const faults = new Faults(limits(opts.throttling));
  const auth = new Auth(state, {
    clients: opts.clients ?? [DEFAULT_CLIENT],
    accessTokenLifetimeSeconds: opts.accessTokenLifetimeSeconds ?? 3599,
    deviceCodeLifetimeSeconds: opts.deviceCodeLifetimeSeconds ?? 900,
  });
  faults.onExpireTokens = () => auth.expireAll();
  faults.onRevokeGrants = (all) => auth.revokeAll(all);
  const subscriptions = new Subscriptions(state, faults, { requireHttps: false, retries: 3, retryDelayMs: 200, timeoutMs: 3000, ...opts.notifications });
  const router = new Router({ state, faults, auth, subscriptions, delta: new DeltaService() });
  const requests: RequestRecord[] = [];
  let origin = '';

  const server = https.createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', origin);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      const emu: EmuRequest = { method: (req.method ?? 'GET').toUpperCase(), path: url.pathname, query: url.searchParams, headers, body: Buffer.concat(chunks), origin };
      void router.dispatch(emu).then((out) => {
        if ('drop' in out) {
          requests.push({ method: emu.method, path: emu.path, status: 'dropped' });
          req.socket.destroy();
          return;
        }
        requests.push({ method: emu.method, path: emu.path, status: out.status });
        const h: Record<string, string> = { 'request-id': randomUUID(), 'client-request-id': headers['client-request-id'] ?? randomUUID(), ...out.headers };
        if (out.body.kind === 'json') {
          res.writeHead(out.status, { ...h, 'Content-Type': JSON_TYPE });
          res.end(JSON.stringify(out.body.value));
        } else if (out.body.kind === 'text') {
          res.writeHead(out.status, { ...h, 'Content-Type': out.body.contentType });
          res.end(Buffer.from(out.body.value, 'latin1'));
        } else {
          res.writeHead(out.status, h);
          res.end();
        }
      });
    });
    req.on('error', () => req.socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `https://127.0.0.1:${port}`;

  return {
    baseUrl: origin,
    loginUrl: origin,
    ca: cert,
    state,
    faults,
    auth,
    subscriptions,
    requests,
    async stop() {
      subscriptions.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
