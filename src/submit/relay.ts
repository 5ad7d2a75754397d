// The SMTP-relay Sender (nodemailer): how a POP3 account (or a local one) sends, through
// the relay configured on the account: settings.smtpRelay = { host, port, secure,
// requireTLS, rejectUnauthorized, auth, maxConnections, maxMessages }. The relay files no
// Sent copy, so memgate does. auth: 'none'; 'relay' = the relay's own login, sealed in
// accounts.relay_credentials; 'account' = the account's backend login (ISPs whose POP3 and
// SMTP share one). Connections are pooled per account (SenderPool keeps the Sender between
// messages): up to maxConnections at once, each used for up to maxMessages messages, so a
// queue of messages pays the relay's greeting, STARTTLS and AUTH once per connection.
import nodemailer from 'nodemailer';
import { z } from 'zod';
import { decryptCredentials } from '../sync/credentials';
import { SenderPool } from './sender-pool';
import { DeliveryError, type Envelope, type Sender, type SenderFactory, type SendingAccount, type SendResult } from './ports';

const relaySettings = z.object({
  host: z.string().min(1),
  port: z.coerce.number().int().min(1).max(65535).default(25),
  /** Implicit TLS (port 465 style). */
  secure: z.boolean().default(false),
  /** Refuse to send unless STARTTLS succeeds. */
  requireTLS: z.boolean().default(false),
  rejectUnauthorized: z.boolean().default(true),
  /** Seconds to wait for the connection and for each reply. */
  timeoutSeconds: z.coerce.number().int().min(1).default(60),
  auth: z.enum(['none', 'relay', 'account']).default('none'),
  /** Connections to the relay kept open at once for this account. */
  maxConnections: z.coerce.number().int().min(1).max(100).default(4),
  /** Messages sent over one connection before it is replaced. */
  maxMessages: z.coerce.number().int().min(1).default(100),
});

export type RelaySettings = z.infer<typeof relaySettings>;

/** The relay's login, opened at send time (so a bad master key is a delivery error). */
export type RelayLogin = () => { user: string; pass: string };

interface ReplyError {
  responseCode?: number;
  response?: string;
  code?: string;
  recipient?: string;
  rejectedErrors?: ReplyError[];
  message: string;
}

/** A nodemailer transport to an account's relay (delivery, pooled; and the CLI's login check). */
export function relayTransport(s: RelaySettings, auth: { user: string; pass: string } | null, timeoutMs: number, pool = false) {
  return nodemailer.createTransport({
    ...(pool ? { pool: true as const, maxConnections: s.maxConnections, maxMessages: s.maxMessages } : {}),
    host: s.host,
    port: s.port,
    secure: s.secure,
    requireTLS: s.requireTLS,
    tls: { rejectUnauthorized: s.rejectUnauthorized },
    ...(auth ? { auth } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
}

export class SmtpRelaySender implements Sender {
  readonly capabilities = { savesSentCopy: false };
  private transport: ReturnType<typeof relayTransport> | null = null;

  constructor(
    private readonly settings: RelaySettings,
    private readonly login: RelayLogin | null = null,
  ) {}

  /** The pooled transport, opened with the relay login on the first message. */
  private pooled(): ReturnType<typeof relayTransport> {
    if (this.transport) return this.transport;
    const s = this.settings;
    let auth: { user: string; pass: string } | undefined;
    try {
      auth = this.login?.();
    } catch (err) {
      throw new DeliveryError(`relay ${s.host}:${s.port}: cannot open the stored relay login: ${(err as Error).message}`, false, undefined, err);
    }
    this.transport = relayTransport(s, auth ?? null, s.timeoutSeconds * 1000, true);
    return this.transport;
  }

  async send(envelope: Envelope, raw: Buffer): Promise<SendResult> {
    const s = this.settings;
    const transport = this.pooled();
    const notify = commonNotify(envelope);
    try {
      const info = await transport.sendMail({
        envelope: {
          from: envelope.mailFrom,
          to: envelope.recipients.map((r) => r.address),
          ...(envelope.dsnRet || envelope.dsnEnvid || notify
            ? { dsn: { ret: envelope.dsnRet ?? null, envid: envelope.dsnEnvid ?? null, notify: notify ?? null } }
            : {}),
        },
        raw,
      });
      // With NOTIFY passed on, the relay reports success and delay itself.
      const result: SendResult = { reply: info.response, accepted: info.accepted.map(String), rejected: [], deferred: [], dsnPassed: notify !== undefined };
      for (const err of (info as { rejectedErrors?: ReplyError[] }).rejectedErrors ?? []) addRejection(result, err);
      return result;
    } catch (e) {
      const err = e as ReplyError;
      if (err.rejectedErrors && err.rejectedErrors.length === envelope.recipients.length) {
        // Every recipient was refused: report each one, as a partial refusal would be.
        const result: SendResult = { accepted: [], rejected: [], deferred: [] };
        for (const r of err.rejectedErrors) addRejection(result, r);
        return result;
      }
      const reply = err.response ?? err.message;
      if (err.code === 'EAUTH' || err.code === 'ENOAUTH') {
        // The message is not at fault: retried (until the give-up time) while the
        // operator fixes the login with `memgate account relay`.
        throw new DeliveryError(`relay ${s.host}:${s.port} refused memgate's login: ${reply}`, false, err.response ? `${err.response} (relay login refused)` : undefined, e);
      }
      const permanent = typeof err.responseCode === 'number' && err.responseCode >= 500 && err.responseCode !== 503;
      throw new DeliveryError(`relay ${s.host}:${s.port}: ${reply}`, permanent, err.response, e);
    }
  }

  close(): void {
    this.transport?.close();
    this.transport = null;
  }
}

function addRejection(result: SendResult, err: ReplyError): void {
  const entry = { address: err.recipient ?? '', reply: err.response ?? err.message };
  if (typeof err.responseCode === 'number' && err.responseCode >= 400 && err.responseCode < 500) result.deferred.push(entry);
  else result.rejected.push(entry);
}

/** nodemailer takes one NOTIFY for the whole envelope: pass it when every recipient agrees. */
function commonNotify(envelope: Envelope): string[] | undefined {
  const values = envelope.recipients.map((r) => (r.notify ?? []).join(','));
  if (values.length === 0 || values[0] === '' || values.some((v) => v !== values[0])) return undefined;
  return envelope.recipients[0].notify;
}

export function parseRelaySettings(value: unknown): RelaySettings | null {
  const parsed = relaySettings.safeParse(value);
  return parsed.success ? parsed.data : null;
}

/**
 * Serves every account with a valid `smtpRelay` setting whose login (if it asks for one)
 * is stored. The master key opens the sealed logins; without it, only relays without AUTH.
 * One pooled Sender per account, replaced when its relay settings or login change.
 */
export class SmtpRelayFactory implements SenderFactory {
  private readonly pool: SenderPool;

  constructor(
    private readonly masterKey: Buffer | null = null,
    opts: { idleMs?: number } = {},
  ) {
    this.pool = new SenderPool(opts.idleMs);
  }

  senderFor(account: SendingAccount): Sender | null {
    const settings = parseRelaySettings(account.settings.smtpRelay);
    if (!settings) return null;
    const sealed = settings.auth === 'none' ? null : settings.auth === 'relay' ? account.sealed?.relay : account.sealed?.backend;
    const key = this.masterKey;
    if (settings.auth !== 'none' && (!sealed || !key)) return null;
    const fingerprint = `${JSON.stringify(settings)}|${sealed?.toString('base64') ?? ''}`;
    const login: RelayLogin | null =
      sealed && key
        ? () => {
            // Both blobs hold { username, password }.
            const { username, password } = decryptCredentials(key, sealed);
            if (typeof username !== 'string' || typeof password !== 'string') throw new Error('the stored login has no user name and password');
            return { user: username, pass: password };
          }
        : null;
    return this.pool.handle(account.id, fingerprint, { savesSentCopy: false }, () => new SmtpRelaySender(settings, login));
  }

  close(): void {
    this.pool.close();
  }
}
