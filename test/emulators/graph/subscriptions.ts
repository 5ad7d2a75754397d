// Change-notification subscriptions (subscription-post-subscriptions.md, concepts/webhooks.md,
// concepts/change-notifications-delivery-webhooks.md): POST with the validationToken
// handshake to the notificationUrl (and lifecycleNotificationUrl), GET, PATCH (renew),
// DELETE, POST {id}/reauthorize; change notifications for created/updated/deleted messages
// of a folder or a whole mailbox; lifecycle notifications on demand (subscriptionRemoved,
// reauthorizationRequired, missed). Deliveries are retried on failure, and the notification
// faults (duplicate, reorder, drop) apply here.
//
// Unlike Graph, http:// notification URLs are accepted (set requireHttps to refuse them), and
// https endpoints are not checked against a CA: memgate's listener is self-signed in tests.
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { Principal } from './auth';
import { Faults } from './faults';
import { EmuRequest, EmuResponse, GraphError, badRequest, json, jsonBody, noContent, wantsImmutableIds } from './http';
import { changeKey } from './render';
import { EmulatorState, Mailbox, MessageEvent } from './state';

const MAX_MINUTES = 4230;

interface SubscriptionRecord {
  id: string;
  resource: string;
  changeTypes: Set<string>;
  changeType: string;
  notificationUrl: string;
  lifecycleNotificationUrl?: string;
  clientState?: string;
  expirationDateTime: string;
  mailbox: Mailbox;
  folderId?: string;
  immutable: boolean;
  applicationId: string;
  creatorId: string;
}

export interface Delivery {
  url: string;
  body: MicrosoftGraph.ChangeNotificationCollection;
  status: number | 'error';
}

export interface SubscriptionOptions {
  requireHttps: boolean;
  retries: number;
  retryDelayMs: number;
  timeoutMs: number;
}

export function postText(url: string, body: string, contentType: string, timeoutMs: number): Promise<{ status: number; body: string; contentType: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(u, { method: 'POST', headers: { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) }, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), contentType: String(res.headers['content-type'] ?? '') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class Subscriptions {
  private readonly subs = new Map<string, SubscriptionRecord>();
  readonly deliveries: Delivery[] = [];
  private chain: Promise<void> = Promise.resolve();
  private held: { url: string; body: MicrosoftGraph.ChangeNotificationCollection }[] = [];
  private holdCount = 0;
  private stopped = false;
  private readonly listener = (ev: MessageEvent): void => this.onMessage(ev);

  constructor(
    private readonly state: EmulatorState,
    private readonly faults: Faults,
    private readonly opts: SubscriptionOptions,
  ) {
    state.on('message', this.listener);
  }

  stop(): void {
    this.stopped = true;
    this.state.off('message', this.listener);
  }

  /** Resolves when every queued delivery has been attempted. */
  idle(): Promise<void> {
    return this.chain;
  }

  list(): SubscriptionRecord[] {
    this.expire();
    return [...this.subs.values()];
  }

  private expire(): void {
    const now = Date.now();
    for (const [id, s] of this.subs) if (Date.parse(s.expirationDateTime) <= now) this.subs.delete(id);
  }

  private render(s: SubscriptionRecord, req: EmuRequest): MicrosoftGraph.Subscription & { '@odata.context': string } {
    return {
      '@odata.context': `${req.origin}/v1.0/$metadata#subscriptions/$entity`,
      id: s.id,
      resource: s.resource,
      applicationId: s.applicationId,
      changeType: s.changeType,
      clientState: s.clientState ?? null,
      notificationUrl: s.notificationUrl,
      notificationQueryOptions: null,
      lifecycleNotificationUrl: s.lifecycleNotificationUrl ?? null,
      expirationDateTime: s.expirationDateTime,
      creatorId: s.creatorId,
      includeResourceData: false,
      latestSupportedTlsVersion: 'v1_2',
      encryptionCertificate: null,
      encryptionCertificateId: null,
      notificationUrlAppId: null,
    };
  }

  private expiration(value: unknown): string {
    const at = typeof value === 'string' ? Date.parse(value) : NaN;
    if (Number.isNaN(at)) throw badRequest('expirationDateTime is required and must be a date.', 'InvalidRequest');
    if (at <= Date.now()) throw badRequest('Subscription expiration can only be in the future.', 'ExtensionError');
    if (at > Date.now() + MAX_MINUTES * 60_000) throw badRequest(`Subscription expiration can only be ${MAX_MINUTES} minutes in the future.`, 'ExtensionError');
    return new Date(at).toISOString();
  }

  private target(resource: string, principal: Principal): { mailbox: Mailbox; folderId?: string } {
    const m = /^\/?(me|users\/([^/]+))\/(?:mailfolders(?:\('([^']+)'\)|\/([^/]+))\/)?messages$/i.exec(resource);
    if (m === null) throw badRequest(`Resource '${resource}' is not supported by the emulator (messages of a mailbox or folder only).`, 'InvalidRequest');
    let mailbox: Mailbox | undefined;
    if (m[1].toLowerCase() === 'me') {
      if (principal.kind !== 'user') throw badRequest('/me request is only valid with delegated authentication flow.', 'BadRequest');
      mailbox = principal.mailbox;
    } else {
      mailbox = this.state.mailbox(decodeURIComponent(m[2]));
      if (mailbox === undefined) throw new GraphError(404, 'ResourceNotFound', `User '${m[2]}' not found.`);
      if (principal.kind === 'user' && principal.mailbox !== mailbox) throw new GraphError(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.');
    }
    const folderRef = m[3] ?? m[4];
    if (folderRef === undefined) return { mailbox };
    const folder = mailbox.folder(decodeURIComponent(folderRef));
    if (folder === undefined) throw new GraphError(404, 'ErrorItemNotFound', 'The specified folder could not be found in the store.');
    return { mailbox, folderId: folder.id };
  }

  private async validate(url: string): Promise<void> {
    const token = `Validation: Testing client application reachability for subscription Request-Id: ${randomUUID()}`;
    const sep = url.includes('?') ? '&' : '?';
    try {
      const res = await postText(`${url}${sep}validationToken=${encodeURIComponent(token)}`, '', 'text/plain; charset=utf-8', 10_000);
      if (res.status === 200 && res.body === token) return;
    } catch {
      // answered below
    }
    throw badRequest('Subscription validation request failed. Notification endpoint must respond with 200 OK to validation request.', 'ValidationError');
  }

  async handle(req: EmuRequest, principal: Principal, id: string | undefined, action: string | undefined): Promise<EmuResponse> {
    this.expire();
    if (id === undefined) {
      if (req.method === 'GET') return json(200, { value: [...this.subs.values()].filter((s) => s.applicationId === principal.clientId).map((s) => this.render(s, req)) });
      if (req.method === 'POST') return this.create(req, principal);
      throw new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
    }
    const sub = this.subs.get(id);
    if (sub === undefined || sub.applicationId !== principal.clientId) throw new GraphError(404, 'ResourceNotFound', 'The object was not found.');
    if (action === 'reauthorize' && req.method === 'POST') return noContent();
    if (action !== undefined) throw new GraphError(400, 'BadRequest', `Unsupported segment '${action}'.`);
    switch (req.method) {
      case 'GET':
        return json(200, this.render(sub, req));
      case 'PATCH': {
        const body = jsonBody(req);
        for (const key of Object.keys(body)) if (key !== 'expirationDateTime' && key !== 'notificationUrl') throw badRequest(`The property '${key}' can't be updated.`, 'InvalidRequest');
        sub.expirationDateTime = this.expiration(body.expirationDateTime);
        return json(200, this.render(sub, req));
      }
      case 'DELETE':
        this.subs.delete(id);
        return noContent();
      default:
        throw new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
    }
  }

  private async create(req: EmuRequest, principal: Principal): Promise<EmuResponse> {
    const body = jsonBody(req) as MicrosoftGraph.Subscription;
    for (const field of ['changeType', 'notificationUrl', 'resource', 'expirationDateTime'] as const) {
      if (typeof body[field] !== 'string' || body[field] === '') throw badRequest(`The property '${field}' is required.`, 'InvalidRequest');
    }
    const changeTypes = new Set((body.changeType as string).split(',').map((s) => s.trim()));
    for (const t of changeTypes) if (t !== 'created' && t !== 'updated' && t !== 'deleted') throw badRequest(`Invalid changeType '${t}'.`, 'InvalidRequest');
    const expirationDateTime = this.expiration(body.expirationDateTime);
    if (body.clientState != null && body.clientState.length > 128) throw badRequest('clientState is limited to 128 characters.', 'InvalidRequest');
    const urls = [body.notificationUrl as string, ...(body.lifecycleNotificationUrl ? [body.lifecycleNotificationUrl] : [])];
    for (const u of urls) {
      let parsed: URL;
      try {
        parsed = new URL(u);
      } catch {
        throw badRequest(`Invalid notification URL '${u}'.`, 'InvalidRequest');
      }
      if (parsed.protocol !== 'https:' && (this.opts.requireHttps || parsed.protocol !== 'http:')) throw badRequest('The notification URL must use the HTTPS protocol.', 'InvalidRequest');
    }
    const target = this.target(body.resource as string, principal);
    for (const u of new Set(urls)) await this.validate(u);
    const sub: SubscriptionRecord = {
      id: randomUUID(),
      resource: body.resource as string,
      changeTypes,
      changeType: body.changeType as string,
      notificationUrl: body.notificationUrl as string,
      lifecycleNotificationUrl: body.lifecycleNotificationUrl ?? undefined,
      clientState: body.clientState ?? undefined,
      expirationDateTime,
      mailbox: target.mailbox,
      folderId: target.folderId,
      immutable: wantsImmutableIds(req),
      applicationId: principal.clientId,
      creatorId: principal.kind === 'user' ? principal.mailbox.id : principal.clientId,
    };
    this.subs.set(sub.id, sub);
    return json(201, this.render(sub, req));
  }

  private onMessage(ev: MessageEvent): void {
    this.expire();
    for (const sub of this.subs.values()) {
      if (sub.mailbox !== ev.mailbox || !sub.changeTypes.has(ev.changeType)) continue;
      if (sub.folderId !== undefined && sub.folderId !== ev.folderId) continue;
      const id = sub.immutable ? ev.immutableId : ev.restId;
      const msg = ev.mailbox.messages.get(ev.immutableId);
      const resource = `Users/${ev.mailbox.id}/Messages/${id}`;
      const notification: MicrosoftGraph.ChangeNotification = {
        id: randomUUID(),
        subscriptionId: sub.id,
        subscriptionExpirationDateTime: sub.expirationDateTime,
        clientState: sub.clientState ?? null,
        changeType: ev.changeType,
        resource,
        tenantId: this.state.tenantId,
        resourceData: { '@odata.type': '#Microsoft.Graph.Message', '@odata.id': resource, '@odata.etag': msg ? `W/"${changeKey(msg)}"` : undefined, id } as MicrosoftGraph.ResourceData,
      };
      this.enqueue(sub.notificationUrl, { value: [notification] });
    }
  }

  /** Sends a lifecycle notification; subscriptionRemoved also removes the subscription. */
  lifecycle(id: string, event: MicrosoftGraph.LifecycleEventType): void {
    const sub = this.subs.get(id);
    if (sub === undefined) throw new Error(`no subscription ${id}`);
    if (event === 'subscriptionRemoved') this.subs.delete(id);
    if (sub.lifecycleNotificationUrl === undefined) return;
    const n: MicrosoftGraph.ChangeNotification = {
      subscriptionId: sub.id,
      subscriptionExpirationDateTime: sub.expirationDateTime,
      tenantId: this.state.tenantId,
      clientState: sub.clientState ?? null,
      lifecycleEvent: event,
    };
    this.enqueue(sub.lifecycleNotificationUrl, { value: [n] }, false);
  }

  private enqueue(url: string, body: MicrosoftGraph.ChangeNotificationCollection, faultable = true): void {
    if (this.stopped) return;
    const fault = faultable ? this.faults.takeNotificationFault() : undefined;
    if (fault?.kind === 'drop') return;
    if (fault?.kind === 'reorder') this.holdCount = fault.count;
    if (this.holdCount > 0) {
      this.held.push({ url, body });
      this.holdCount -= 1;
      if (this.holdCount === 0) {
        const batch = this.held.reverse();
        this.held = [];
        for (const h of batch) this.send(h.url, h.body);
      }
      return;
    }
    this.send(url, body);
    if (fault?.kind === 'duplicate') this.send(url, body);
  }

  private send(url: string, body: MicrosoftGraph.ChangeNotificationCollection): void {
    this.chain = this.chain.then(async () => {
      for (let attempt = 0; attempt <= this.opts.retries && !this.stopped; attempt++) {
        let status: number | 'error' = 'error';
        try {
          status = (await postText(url, JSON.stringify(body), 'application/json; charset=utf-8', this.opts.timeoutMs)).status;
        } catch {
          status = 'error';
        }
        this.deliveries.push({ url, body, status });
        if (typeof status === 'number' && status >= 200 && status < 300) return;
        await sleep(this.opts.retryDelayMs);
      }
    });
  }
}
