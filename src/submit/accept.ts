// Accepting a submitted message: the sender rules, the route (which account sends), and
// the outbox commit. The reply is 250 only once the outbox row is committed (invariant 7).
import { MemgateError } from '../core/errors';
import type { MailStore, User } from '../core/ports';
import type { Logger } from '../imap/context';
import type { DraftRef, Envelope, Outbox, Recipient, SenderFactory, SendingAccounts } from './ports';
import { notInEnvelope } from './header-recipients';
import { accountsFor, chooseAccount, SenderRuleError } from './rules';

/** Fetches the content of an IMAP URL for BURL (RFC 4468), as the submit+ identity. */
export interface BurlResolver {
  resolve(user: User, url: string): Promise<{ bytes: Buffer; draft?: DraftRef }>;
}

export interface SubmitContext {
  store: MailStore;
  accounts: SendingAccounts;
  senders: SenderFactory;
  outbox: Outbox;
  log: Logger;
  /** SIZE (RFC 1870): the largest message accepted, BURL parts included. */
  maxMessageSize: number;
  /** Temporary delivery failures are retried for this long, then a DSN says so. */
  giveUpAfterMs: number;
  allowPlaintextAuth: boolean;
  loopbackIsSecure?: boolean;
  /** Called after a commit so the worker looks at once. */
  onQueued?: () => void;
  /** BURL imap is offered only with a resolver. */
  burl?: BurlResolver;
}

export interface SubmittedEnvelope {
  mailFrom: string;
  recipients: Recipient[];
  dsnRet?: string | null;
  dsnEnvid?: string | null;
}

export class Submission {
  constructor(readonly ctx: SubmitContext) {}

  /** MAIL FROM: the envelope sender must be an address of one of the user's accounts. */
  async checkMailFrom(user: User, address: string): Promise<void> {
    if (address === '') throw new SenderRuleError('A submission needs a sender address, not <>');
    const accounts = await this.ctx.accounts.listSendingAccounts(user.id);
    if (accountsFor(accounts, address).length === 0) {
      throw new SenderRuleError(`<${address}> is not an address of any of your accounts`);
    }
  }

  /** Checks the From header, picks the account, commits to the outbox; returns the queue id. */
  async accept(user: User, env: SubmittedEnvelope, raw: Buffer, draft?: DraftRef): Promise<string> {
    if (raw.length === 0) throw new MemgateError('Empty message', { smtpReply: 554, smtpEnhanced: '5.6.0' });
    if (raw.length > this.ctx.maxMessageSize) {
      throw new MemgateError(`Message exceeds fixed maximum message size ${this.ctx.maxMessageSize}`, {
        smtpReply: 552,
        smtpEnhanced: '5.3.4',
      });
    }
    const accounts = await this.ctx.accounts.listSendingAccounts(user.id);
    const account = chooseAccount(accounts, env.mailFrom, raw);
    const sender = this.ctx.senders.senderFor(account);
    if (!sender) {
      throw new MemgateError('The account of this From address is not set up to send mail', {
        smtpReply: 550,
        smtpEnhanced: '5.7.1',
      });
    }
    if (sender.capabilities.recipientsFromHeaders) {
      // Its backend delivers to every To/Cc/Bcc address: it cannot leave one out.
      const extra = notInEnvelope(raw, env);
      if (extra.length > 0) {
        throw new MemgateError(
          `This account sends through its provider's API, which delivers to every To, Cc and Bcc address; RCPT TO leaves out ${extra.slice(0, 5).map((a) => `<${a}>`).join(', ')}${extra.length > 5 ? ' and more' : ''}`,
          { smtpReply: 554, smtpEnhanced: '5.3.3' },
        );
      }
    }
    const envelope: Envelope = {
      mailFrom: env.mailFrom,
      recipients: env.recipients,
      ...(env.dsnRet === 'FULL' || env.dsnRet === 'HDRS' ? { dsnRet: env.dsnRet } : {}),
      ...(env.dsnEnvid ? { dsnEnvid: env.dsnEnvid } : {}),
    };
    const id = await this.ctx.outbox.enqueue({
      userId: user.id,
      accountId: account.id,
      envelope,
      raw,
      giveUpAt: new Date(Date.now() + this.ctx.giveUpAfterMs),
      ...(draft ? { draft } : {}),
    });
    this.ctx.log.info({ outboxId: id, user: user.name, account: account.id, size: raw.length }, 'submission queued');
    this.ctx.onQueued?.();
    return id;
  }
}

/** An error as an SMTP reply text that starts with its enhanced code. */
export function smtpReplyOf(err: unknown, log: Logger): { code: number; text: string } {
  if (err instanceof MemgateError) return { code: err.smtpReply, text: `${err.smtpEnhanced} ${err.message}` };
  log.error({ err }, 'submission failed');
  return { code: 451, text: '4.3.0 Internal error, try again later' };
}
