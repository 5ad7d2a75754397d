// Test helpers: the official Graph client pointed at the emulator (trusting its certificate
// through an undici dispatcher, the host listed in customHosts so that the Authorization
// header is attached), plain fetch for the login endpoints, and a webhook receiver.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client, FetchOptions, GraphError } from '@microsoft/microsoft-graph-client';
import { Agent } from 'undici';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { GraphEmulator } from './server';

/** The error a Graph call failed with (and a failure if it did not). */
export async function graphError(p: Promise<unknown>): Promise<GraphError> {
  try {
    await p;
  } catch (err) {
    return err as GraphError;
  }
  throw new Error('expected a Graph error');
}

export function dispatcherFor(emu: GraphEmulator): Agent {
  return new Agent({ connect: { ca: emu.ca } });
}

export function graphClient(emu: GraphEmulator, token: string | (() => string), extra: { customHosts?: Set<string> } = {}): Client {
  const fetchOptions = { dispatcher: dispatcherFor(emu) } as unknown as FetchOptions;
  return Client.init({
    authProvider: (done) => done(null, typeof token === 'string' ? token : token()),
    baseUrl: emu.baseUrl,
    customHosts: new Set([new URL(emu.baseUrl).hostname]),
    fetchOptions,
    ...extra,
  });
}

/** A form POST to the login endpoints; the JSON answer and status. */
export async function postForm(emu: GraphEmulator, path: string, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${emu.loginUrl}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
    dispatcher: dispatcherFor(emu),
  } as RequestInit);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A raw request to Graph (for what the client library hides: status, headers, bodies). */
export async function rawGraph(emu: GraphEmulator, method: string, path: string, token: string, init: { headers?: Record<string, string>; body?: string } = {}): Promise<Response> {
  return fetch(`${emu.baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...init.headers },
    body: init.body,
    dispatcher: dispatcherFor(emu),
  } as RequestInit);
}

export interface Receiver {
  url: string;
  notifications: MicrosoftGraph.ChangeNotification[];
  validations: string[];
  /** Answer validation with something else than the token. */
  answerWrongToken: boolean;
  /** Answer the next N notification posts with 500. */
  failNext: number;
  /** Resolves once `count` notifications have arrived (or rejects after timeoutMs). */
  waitFor(count: number, timeoutMs?: number): Promise<MicrosoftGraph.ChangeNotification[]>;
  close(): Promise<void>;
}

/** A notification endpoint like memgate's: echoes validationToken, 202 for notifications. */
export async function startReceiver(): Promise<Receiver> {
  const waiters: { count: number; resolve: () => void }[] = [];
  const r: Receiver = {
    url: '',
    notifications: [],
    validations: [],
    answerWrongToken: false,
    failNext: 0,
    waitFor(count, timeoutMs = 5000) {
      if (r.notifications.length >= count) return Promise.resolve(r.notifications);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`only ${r.notifications.length} of ${count} notifications arrived`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(t), resolve(r.notifications)) });
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const token = new URL(req.url ?? '/', 'http://x').searchParams.get('validationToken');
      if (token !== null) {
        r.validations.push(token);
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end(r.answerWrongToken ? 'not-the-token' : token);
        return;
      }
      if (r.failNext > 0) {
        r.failNext -= 1;
        res.writeHead(500);
        res.end();
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as MicrosoftGraph.ChangeNotificationCollection;
      r.notifications.push(...(body.value ?? []));
      res.writeHead(202);
      res.end();
      for (const w of [...waiters]) {
        if (r.notifications.length >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    });
  });
  server.keepAliveTimeout = 100;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/notify`;
  return r;
}

export function mime(subject: string, opts: { from?: string; to?: string; body?: string; messageId?: string; multipart?: boolean } = {}): string {
  const head = [
    `From: ${opts.from ?? 'Sender <sender@example.org>'}`,
    `To: ${opts.to ?? 'alice@contoso.com'}`,
    `Subject: ${subject}`,
    `Date: Mon, 4 Sep 2023 10:00:00 +0000`,
    `Message-ID: ${opts.messageId ?? `<${Math.random().toString(36).slice(2)}@example.org>`}`,
    'MIME-Version: 1.0',
  ];
  const body = opts.body ?? `Body of ${subject}`;
  if (!opts.multipart) return [...head, 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n');
  return [
    ...head,
    'Content-Type: multipart/alternative; boundary="b1"',
    '',
    '--b1',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '--b1',
    'Content-Type: text/html; charset=utf-8',
    '',
    `<p>${body}</p>`,
    '--b1--',
    '',
  ].join('\r\n');
}
