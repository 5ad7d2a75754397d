// Sending for Graph accounts (the submission server's Sender port): POST
// /users/{mailbox}/sendMail with the MIME message base64-encoded as text/plain, as
// user-sendmail.md documents. Graph takes the recipients from the To, Cc and Bcc fields
// (the outbox adds envelope-only recipients as Bcc), removes Bcc from what it delivers, and
// saves the copy in Sent Items itself, which the sync engine then shows in Sent: memgate
// files none. Requests go through the mailbox's client (token renewal, the per-mailbox
// throttle shared with the sync, 429/503 retried after Retry-After).
//
// Errors, as the outbox reads them: throttled (429/503 after the client's retries), 5xx,
// unreachable -> temporary, retried not before Retry-After; the grant revoked or refused
// (401/403, invalid_grant) -> temporary, and the account is marked as needing new
// credentials; a 4xx about the message (400 invalid MIME or recipients, 413 too large,
// 403 ErrorSendAsDenied) -> permanent, a DSN to the sender.
import type { AdapterAccount, TrafficStats } from '../contract';
import { AdapterError } from '../contract';
import { DeliveryError, type Envelope, type SendAttempt, type Sender, type SenderCapabilities, type SendResult } from '../../src/submit/ports';
import { GraphApi, graphCode, graphStatus } from './client';
import { graphSettings } from './mapping';

export const GRAPH_SENDER_CAPABILITIES: SenderCapabilities = { savesSentCopy: true, removesBcc: true, recipientsFromHeaders: true };

type Page<T> = { value?: T[] };

export class GraphSender implements Sender {
  readonly capabilities = GRAPH_SENDER_CAPABILITIES;
  readonly stats: TrafficStats = { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 };
  private readonly api: GraphApi;

  constructor(account: AdapterAccount) {
    this.api = new GraphApi(graphSettings(account.settings), account.credentials, this.stats, account.saveCredentials);
  }

  async send(envelope: Envelope, raw: Buffer, attempt?: SendAttempt): Promise<SendResult> {
    const accepted = envelope.recipients.map((r) => r.address);
    try {
      // An earlier attempt may have been sent with its answer lost: its copy in Sent Items
      // says so (Exchange keeps the Message-ID as internetMessageId).
      if (attempt && attempt.earlier > 0 && attempt.messageId && (await this.inSentItems(attempt.messageId))) {
        return { reply: '250 2.0.0 already sent: the copy is in Sent Items (Graph)', accepted, rejected: [], deferred: [] };
      }
      this.stats.bytesOut += raw.length;
      await this.api.post(`${this.api.base}/sendMail`, raw.toString('base64'), { 'Content-Type': 'text/plain' });
      return { reply: '250 2.0.0 accepted by Graph sendMail (202)', accepted, rejected: [], deferred: [] };
    } catch (err) {
      throw deliveryError(err);
    }
  }

  private async inSentItems(messageId: string): Promise<boolean> {
    const id = `<${messageId}>`.replace(/'/g, "''");
    const page = await this.api.get<Page<{ id?: string }>>(`${this.api.base}/mailFolders/sentitems/messages?$filter=internetMessageId eq '${id}'&$select=id`);
    return (page.value ?? []).length > 0;
  }

  close(): void {
    this.api.dispose();
  }
}

export function createGraphSender(account: AdapterAccount): Sender {
  return new GraphSender(account);
}

/** Graph's answer as a delivery failure (temporary, permanent, or the account's credentials). */
function deliveryError(err: unknown): DeliveryError {
  const status = graphStatus(err);
  const code = graphCode(err);
  const what = err instanceof Error ? err.message : String(err);
  if (!(err instanceof AdapterError)) return new DeliveryError(`Graph sendMail: ${what}`, false, undefined, err);
  const retryAfterSeconds = err.retryAfterSeconds;
  if (code === 'ErrorSendAsDenied') return new DeliveryError(what, true, `550 5.7.1 ${what}`, err);
  if (err.kind === 'auth') {
    return new DeliveryError(`Graph refused the account's credentials: ${what}`, false, `451 4.7.0 ${what} (the account needs new credentials)`, err, { needsCredentials: true });
  }
  if (status !== null && status >= 400 && status < 500 && ![404, 408, 409, 429].includes(status)) {
    const enhanced = status === 413 || code === 'ErrorMessageSizeExceeded' ? '5.3.4' : code === 'ErrorInvalidRecipients' ? '5.1.3' : '5.6.0';
    return new DeliveryError(`Graph sendMail refused the message: ${what}`, true, `554 ${enhanced} ${what}`, err);
  }
  return new DeliveryError(`Graph sendMail: ${what}`, false, `451 4.4.1 ${what}`, err, retryAfterSeconds !== undefined ? { retryAfterSeconds } : {});
}
