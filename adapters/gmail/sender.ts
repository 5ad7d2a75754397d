// Sending for Gmail accounts (the submission server's Sender port): users.messages.send
// with the message as requestBody.raw (base64url), not the media upload path (whose URL
// would go to Google's host unless a root URL were passed per call, and which the emulator
// does not serve). Gmail "sends the specified message to the recipients in the To, Cc,
// and Bcc headers" (the outbox adds envelope-only recipients as Bcc), removes Bcc from what
// it delivers and files the copy under SENT itself: memgate files none. Calls go through
// the account's GmailClient: token refresh, the per-user quota budget (send costs 100
// units), 429 and 5xx retried with backoff.
//
// A retried send (an earlier attempt, or the client's own retry after a dropped answer)
// first looks for the message under SENT by its Message-ID, so a send that did happen is
// not repeated. Errors: throttled, 5xx, unreachable -> temporary (not before Retry-After);
// the grant revoked or lacking the scope -> temporary, and the account is marked as needing
// new credentials; 400-class refusals of the message -> permanent, a DSN to the sender.
import type { gmail_v1 } from 'googleapis';
import { AdapterError, type AdapterAccount } from '../contract';
import { DeliveryError, type Envelope, type SendAttempt, type Sender, type SenderCapabilities, type SendResult } from '../../src/submit/ports';
import { GmailAdapter } from './index';

export const GMAIL_SENDER_CAPABILITIES: SenderCapabilities = { savesSentCopy: true, removesBcc: true, recipientsFromHeaders: true };

export class GmailSender implements Sender {
  readonly capabilities = GMAIL_SENDER_CAPABILITIES;
  /** The adapter's client: token refresh (rotated refresh tokens saved), quota budget. */
  private readonly adapter: GmailAdapter;
  private readonly stopped = new AbortController();

  constructor(account: AdapterAccount) {
    this.adapter = new GmailAdapter(account);
  }

  async send(envelope: Envelope, raw: Buffer, attempt?: SendAttempt): Promise<SendResult> {
    const accepted = envelope.recipients.map((r) => r.address);
    const client = this.adapter.client;
    const gmail = client.gmail;
    const signal = this.stopped.signal;
    let tries = attempt?.earlier ?? 0;
    let already: string | null = null;
    try {
      await client.authenticate();
      const sent = await client.call(
        'messages.send',
        async (s): Promise<{ data: gmail_v1.Schema$Message }> => {
          if (tries++ > 0 && attempt?.messageId) {
            already = await this.sentCopy(attempt.messageId, s);
            if (already) return { data: { id: already } };
          }
          return gmail.users.messages.send({ userId: 'me', requestBody: { raw: raw.toString('base64url') } }, { signal: s });
        },
        signal,
      );
      this.adapter.stats.bytesOut += raw.length;
      const reply = already ? `250 2.0.0 already sent: Gmail holds it under SENT as ${already}` : `250 2.0.0 sent by Gmail as ${sent.id ?? '?'}`;
      return { reply, accepted, rejected: [], deferred: [] };
    } catch (err) {
      throw deliveryError(err);
    }
  }

  /** The id of a message with this Message-ID under SENT, if Gmail has one. */
  private async sentCopy(messageId: string, signal: AbortSignal): Promise<string | null> {
    const res = await this.adapter.client.gmail.users.messages.list({ userId: 'me', labelIds: ['SENT'], q: `rfc822msgid:${messageId}`, maxResults: 1 }, { signal });
    return res.data.messages?.[0]?.id ?? null;
  }

  close(): void {
    this.stopped.abort(new AdapterError('unavailable', 'Gmail sender closed'));
  }
}

export function createGmailSender(account: AdapterAccount): Sender {
  return new GmailSender(account);
}

/** The HTTP status of the Google answer behind an AdapterError, if there was one. */
function statusOf(err: AdapterError): number | null {
  const cause = err.cause as { status?: unknown; response?: { status?: unknown } } | undefined;
  const status = cause?.response?.status ?? cause?.status;
  return typeof status === 'number' ? status : null;
}

function deliveryError(err: unknown): DeliveryError {
  const what = err instanceof Error ? err.message : String(err);
  if (!(err instanceof AdapterError)) return new DeliveryError(`Gmail send: ${what}`, false, undefined, err);
  if (err.kind === 'auth') {
    return new DeliveryError(`Google refused the account's credentials: ${what}`, false, `451 4.7.0 ${what} (the account needs new credentials)`, err, { needsCredentials: true });
  }
  const status = statusOf(err);
  if (err.kind === 'protocol' && status !== null && status >= 400 && status < 500 && ![408, 409].includes(status)) {
    const enhanced = status === 413 ? '5.3.4' : /recipient|to header/i.test(what) ? '5.1.3' : '5.6.0';
    return new DeliveryError(`Gmail refused the message: ${what}`, true, `554 ${enhanced} ${what}`, err);
  }
  const retryAfterSeconds = err.retryAfterSeconds;
  return new DeliveryError(`Gmail send: ${what}`, false, `451 4.4.1 ${what}`, err, retryAfterSeconds !== undefined ? { retryAfterSeconds } : {});
}
