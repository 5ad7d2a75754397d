// The outbox worker: takes due messages, hands each to its account's Sender (without Bcc
// fields), and turns the result into an outcome the outbox records: sent (Sent copy, with
// Bcc, unless the backend keeps one), retry with exponential backoff until the message's
// give-up time, or failed with a DSN in the sender's INBOX. DSNs follow each recipient's
// NOTIFY (RFC 3461): FAILURE (also when absent), DELAY (once, after `delayNoticeMs` in the
// queue), SUCCESS ("relayed", when the next hop did not take the DSN parameters itself).
import type { Logger } from '../imap/context';
import { withoutBcc } from './bcc';
import { buildDsn, type FailedRecipient } from './dsn';
import { messageIdOf, withEnvelopeRecipients } from './header-recipients';
import {
  DeliveryError,
  type DeliveryOutcome,
  type Outbox,
  type OutboxEntry,
  type Recipient,
  type SenderFactory,
  type SendingAccounts,
} from './ports';

export interface OutboxWorkerOptions {
  /** Deliveries in flight at once (none holds a database connection while it sends). */
  concurrency: number;
  /** How often an idle worker looks for due messages (other processes enqueue too). */
  pollMs: number;
  retryBaseMs: number;
  retryMaxMs: number;
  /** A message still queued after this long gets one "delayed" DSN (for NOTIFY=DELAY). */
  delayNoticeMs: number;
}

export const DEFAULT_WORKER_OPTIONS: OutboxWorkerOptions = {
  concurrency: 4,
  pollMs: 1000,
  retryBaseMs: 60_000,
  retryMaxMs: 3_600_000,
  delayNoticeMs: 4 * 3_600_000,
};

export class OutboxWorker {
  private running = false;
  private readonly slots: Promise<void>[] = [];
  private wakers: Array<() => void> = [];

  constructor(
    private readonly outbox: Outbox,
    private readonly accounts: SendingAccounts,
    private readonly senders: SenderFactory,
    private readonly log: Logger,
    private readonly opts: OutboxWorkerOptions = DEFAULT_WORKER_OPTIONS,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    for (let i = 0; i < this.opts.concurrency; i++) this.slots.push(this.loop());
  }

  /** A message was just queued: look now instead of at the next poll. */
  kick(): void {
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.kick();
    await Promise.all(this.slots);
    this.slots.length = 0;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wakers = this.wakers.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      this.wakers.push(done);
    });
  }

  private async loop(): Promise<void> {
    while (this.running) {
      let delivered = false;
      try {
        delivered = await this.outbox.deliverNext((entry) => this.deliver(entry));
      } catch (err) {
        if (!this.running) return;
        this.log.warn({ err }, 'outbox: cannot take the next message');
      }
      if (!delivered && this.running) await this.sleep(this.opts.pollMs);
    }
  }

  private backoff(attempts: number): number {
    const ms = Math.min(this.opts.retryMaxMs, this.opts.retryBaseMs * 2 ** Math.min(attempts, 20));
    return ms * (0.75 + Math.random() * 0.5);
  }

  /** One attempt; never throws (the outbox would count a throw as a retry). */
  async deliver(entry: OutboxEntry): Promise<DeliveryOutcome> {
    const now = Date.now();
    const nextAt = new Date(now + this.backoff(entry.attempts));
    const expired = nextAt.getTime() > entry.giveUpAt.getTime();
    const account = await this.accounts.getSendingAccount(entry.userId, entry.accountId);
    if (!account) {
      return this.fail(entry, entry.envelope.recipients, '550 5.7.1 the sending account no longer exists', 'The account this message was sent from was removed.');
    }
    const sender = this.senders.senderFor(account);
    if (!sender) {
      const reason = '451 4.3.5 the sending account has no way to send (no relay configured)';
      if (!expired) return this.retry(entry, reason, nextAt);
      return this.fail(entry, entry.envelope.recipients, reason, 'Your account is not set up to send mail.');
    }
    try {
      // Bcc recipients are in the envelope; the copy they and everyone else get has no Bcc.
      // A backend that reads recipients from the header gets them as Bcc and removes it itself.
      const caps = sender.capabilities;
      const outgoing = caps.recipientsFromHeaders
        ? withEnvelopeRecipients(entry.raw, entry.envelope)
        : caps.removesBcc
          ? entry.raw
          : withoutBcc(entry.raw);
      const messageId = messageIdOf(entry.raw);
      const result = await sender.send(entry.envelope, outgoing, { earlier: entry.attempts, ...(messageId ? { messageId } : {}) });
      const byAddress = new Map(entry.envelope.recipients.map((r) => [r.address.toLowerCase(), r]));
      const find = (address: string): Recipient => byAddress.get(address.toLowerCase()) ?? { address };
      const failed: FailedRecipient[] = result.rejected.map((r) => ({ ...find(r.address), reply: r.reply }));
      let remaining: Recipient[] = [];
      if (expired) {
        failed.push(...result.deferred.map((r) => ({ ...find(r.address), reply: `${r.reply} (gave up retrying)` })));
      } else {
        remaining = result.deferred.map((r) => find(r.address));
      }
      // A next hop without DSN parameters (Graph, Gmail) reports nothing: memgate says "relayed".
      const relayed: FailedRecipient[] = result.dsnPassed
        ? []
        : result.accepted.map((a) => ({ ...find(a), reply: result.reply ?? '250 2.0.0 sent', action: 'relayed' as const }));
      const report = this.report(
        entry,
        [...failed, ...relayed],
        failed.length > 0 ? 'Your message could not be delivered to some recipients.' : 'Your message was handed on for delivery; the next system sends no reports of its own.',
      );
      this.log.info({ outboxId: entry.id, accepted: result.accepted.length, failed: failed.length, deferred: remaining.length }, 'outbox: delivered');
      if (result.accepted.length === 0 && remaining.length === 0) {
        return { kind: 'failed', error: failed.map((f) => f.reply).join('; '), report };
      }
      return {
        kind: 'sent',
        ...(result.reply ? { reply: result.reply } : {}),
        sentCopy: result.accepted.length > 0 && !sender.capabilities.savesSentCopy ? entry.raw : null,
        report,
        ...(remaining.length > 0
          ? { remaining: { recipients: remaining, at: nextAt, error: result.deferred.map((d) => d.reply).join('; ') } }
          : {}),
      };
    } catch (err) {
      const permanent = err instanceof DeliveryError && err.permanent;
      const reply = err instanceof DeliveryError ? (err.remoteReply ?? err.message) : (err as Error).message;
      this.log.warn({ outboxId: entry.id, err, permanent }, 'outbox: delivery attempt failed');
      const details = err instanceof DeliveryError ? err.details : {};
      if (details.needsCredentials) {
        await this.accounts.noteNeedsCredentials?.(account.id, reply).catch((e: unknown) => this.log.warn({ err: e }, 'outbox: cannot record the account state'));
      }
      // Not before the backend's Retry-After; the give-up time is judged on that date.
      const retryAt = new Date(Math.max(nextAt.getTime(), now + (details.retryAfterSeconds ?? 0) * 1000));
      if (!permanent && retryAt.getTime() <= entry.giveUpAt.getTime()) return this.retry(entry, reply, retryAt);
      const status = permanent ? reply : `${reply} (4.4.7 gave up retrying)`;
      return this.fail(entry, entry.envelope.recipients, status, permanent ? 'Your message was refused.' : 'Your message could not be delivered in time.');
    } finally {
      sender.close?.();
    }
  }

  private fail(entry: OutboxEntry, recipients: Recipient[], reply: string, summary: string): DeliveryOutcome {
    const failed = recipients.map((r) => ({ ...r, reply }));
    return { kind: 'failed', error: reply, report: this.report(entry, failed, summary) };
  }

  /** Tried again later; after `delayNoticeMs` in the queue, once, a "delayed" DSN. */
  private retry(entry: OutboxEntry, error: string, at: Date): DeliveryOutcome {
    const waited = Date.now() - entry.queuedAt.getTime();
    if (entry.delayReported || waited < this.opts.delayNoticeMs) return { kind: 'retry', error, at };
    const delayed = entry.envelope.recipients.map((r) => ({ ...r, reply: error, action: 'delayed' as const }));
    const report = this.report(entry, delayed, 'Your message has not been delivered yet; it is still being tried.');
    return { kind: 'retry', error, at, ...(report ? { report } : {}) };
  }

  /**
   * A DSN for the recipients whose NOTIFY asks for it: FAILURE for failures (also when
   * NOTIFY is absent), DELAY for delays, SUCCESS for relayed ones; null when none does.
   */
  private report(entry: OutboxEntry, recipients: FailedRecipient[], summary: string): Buffer | null {
    const wanted = recipients.filter((f) => {
      const notify = entry.envelope.recipients.find((r) => r.address.toLowerCase() === f.address.toLowerCase())?.notify;
      const action = f.action ?? 'failed';
      if (action === 'failed') return !notify || notify.includes('FAILURE');
      return notify?.includes(action === 'delayed' ? 'DELAY' : 'SUCCESS') ?? false;
    });
    if (wanted.length === 0) return null;
    return buildDsn({
      sender: entry.envelope.mailFrom,
      recipients: wanted,
      original: entry.raw,
      ret: entry.envelope.dsnRet ?? 'HDRS',
      envid: entry.envelope.dsnEnvid,
      arrival: entry.queuedAt,
      summary,
      willRetryUntil: entry.giveUpAt,
    });
  }
}
