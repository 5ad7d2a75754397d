// Everything the emulator knows: mailboxes, OAuth, quota, watches, faults, and the record of
// what happened (requests, response-shape violations, sent mail). Tests drive it directly
// (deliver a message, expire history, revoke a grant) and through the HTTP API.

import { AuthServer, type OAuthClient } from './auth';
import { Faults } from './faults';
import type { StoredMessage } from './format';
import type { HistoryHorizon } from './history';
import { Mailbox } from './messages';
import { DEFAULT_QUOTA, QuotaMeter, type QuotaSettings } from './quota';
import { WatchHub, type PushSubscription } from './watch';

export interface GmailEmulatorOptions {
  /** Listen address (default 127.0.0.1) and port (default 0: ephemeral). */
  host?: string;
  port?: number;
  /** Mailboxes to create (default one: user@example.com). */
  users?: string[];
  /** The clock for tokens, quota windows, history horizon and internalDate (default Date.now). */
  now?: () => number;
  tokenLifetimeSeconds?: number;
  historyHorizon?: HistoryHorizon;
  /** First historyId of each new mailbox (default 1000 + a few per mailbox). */
  startHistoryId?: number;
  quota?: Partial<QuotaSettings>;
  /** OAuth clients (default one: see DEFAULT_CLIENT). */
  clients?: OAuthClient[];
  /** Pub/Sub push subscriptions that watches may name by topic. */
  push?: PushSubscription[];
  /** The user who consents on the authorization page when no login_hint names one. */
  consentUser?: string;
}

export const DEFAULT_CLIENT: OAuthClient = {
  clientId: 'memgate-emulator.apps.googleusercontent.com',
  clientSecret: 'emulator-client-secret',
};

export interface RequestLogEntry {
  method: string;
  path: string;
  methodId?: string;
  user?: string;
  status: number;
}

export interface SentMessage {
  from: string;
  recipients: string[];
  messageId: string;
}

export class GmailState {
  readonly now: () => number;
  readonly mailboxes = new Map<string, Mailbox>();
  readonly auth: AuthServer;
  readonly quota: QuotaMeter;
  readonly watches: WatchHub;
  readonly faults: Faults;
  /** Response bodies that the discovery document does not allow (should stay empty). */
  readonly violations: string[] = [];
  readonly requests: RequestLogEntry[] = [];
  readonly sent: SentMessage[] = [];
  baseUrl = '';
  private nextHistoryBase: number;

  constructor(readonly opts: GmailEmulatorOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.nextHistoryBase = opts.startHistoryId ?? 1000;
    this.auth = new AuthServer(this.now, opts.tokenLifetimeSeconds ?? 3599, () => `${this.baseUrl}/token`, (e) => this.mailboxes.has(e.toLowerCase()));
    for (const c of opts.clients ?? [DEFAULT_CLIENT]) this.auth.addClient(c);
    this.quota = new QuotaMeter({ ...DEFAULT_QUOTA, ...opts.quota }, this.now);
    this.watches = new WatchHub(this.now);
    for (const s of opts.push ?? []) this.watches.addSubscription(s);
    this.faults = new Faults(this.auth);
    for (const u of opts.users ?? ['user@example.com']) this.addUser(u);
  }

  addUser(email: string): Mailbox {
    const key = email.toLowerCase();
    const existing = this.mailboxes.get(key);
    if (existing) return existing;
    const mb = new Mailbox(email, this.now, this.nextHistoryBase, this.opts.historyHorizon);
    this.nextHistoryBase += 7;
    mb.listeners.push((m, rec) => this.watches.onRecord(m, rec));
    this.mailboxes.set(key, mb);
    return mb;
  }

  mailbox(email: string): Mailbox {
    const mb = this.mailboxes.get(email.toLowerCase());
    if (!mb) throw new Error(`no mailbox ${email} in the Gmail emulator`);
    return mb;
  }

  /** A message arrives from outside (as over SMTP): INBOX and UNREAD unless told otherwise. */
  deliver(email: string, raw: string | Buffer, labelIds: string[] = ['INBOX', 'UNREAD']): StoredMessage {
    return this.mailbox(email).add(typeof raw === 'string' ? Buffer.from(raw) : raw, { labelIds, internalDateSource: 'receivedTime' });
  }

  /** Drops all history so far: history.list from any older startHistoryId answers 404. */
  expireHistory(email: string): void {
    this.mailbox(email).history.expireAll();
  }

  /** Tokens for a user as if they had consented (scope defaults to full mail access). */
  tokensFor(email: string, scope?: string): { access_token: string; refresh_token: string; expires_in: number } {
    return this.auth.issueTokens(this.mailbox(email).email, { scope });
  }
}
