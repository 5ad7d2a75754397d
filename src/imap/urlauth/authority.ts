// URLAUTH (RFC 4467) with the INTERNAL mechanism: a token is HMAC-SHA256 over the rump URL
// under the owner's key for that mailbox, so RESETKEY (or recreating the mailbox) revokes
// every URL issued for it. Also resolves URLs to bytes for URLFETCH, CATENATE (RFC 4469)
// and BURL (RFC 4468), from the store (which fetches uncached bodies from the backend).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { MemgateError } from '../../core/errors';
import type { MailStore, User } from '../../core/ports';
import { parseMessage } from '../../mime/parse';
import { sectionBytes, type SectionSpec } from '../../mime/section';
import type { UrlauthKeys } from './keys';
import { parseImapUrl, sectionSpec, type ImapUrl } from './url';

/** NO [BADURL "url"] (IMAP) / 554 5.6.6 (BURL, RFC 4468). */
export class BadUrlError extends MemgateError {
  constructor(url: string, reason: string) {
    super(`Bad URL: ${reason}`, { imapCode: 'BADURL', smtpReply: 554, smtpEnhanced: '5.6.6' });
    // The response code carries the URL (RFC 4469 5, RFC 4467 9).
    const quoted = '"' + url.replace(/[\\"]/g, (c) => '\\' + c).replace(/[\r\n]/g, '') + '"';
    Object.defineProperty(this, 'imapCode', { value: `BADURL ${quoted}` });
  }
}

/** Who asks to use a URL: an IMAP session's user, or the submission server for a user. */
export type Requester = { kind: 'imap'; user: User } | { kind: 'submit'; user: User };

export interface ResolvedUrl {
  bytes: Buffer;
  ownerId: string;
  mailboxId: string;
  uid: number;
  /** True when the URL names the whole message (no SECTION, no PARTIAL). */
  wholeMessage: boolean;
  /** The whole message, the section the URL names and its range (URLFETCH BINARY, RFC 5524). */
  message: Buffer;
  section: SectionSpec;
  partial: { offset: number; length: number | null } | null;
}

export const URLAUTH_MECHANISMS = ['INTERNAL'];

export class UrlAuthority {
  constructor(
    private readonly store: MailStore,
    private readonly keys: UrlauthKeys,
  ) {}

  private async token(ownerId: string, mailboxId: string, rump: string): Promise<string> {
    const key = await this.keys.key(ownerId, mailboxId);
    return createHmac('sha256', key).update(rump, 'utf8').digest('hex');
  }

  /** GENURLAUTH: the URL must be the user's own rump URL naming an existing message. */
  async generate(user: User, urlText: string, mechanism: string): Promise<string> {
    if (!URLAUTH_MECHANISMS.includes(mechanism.toUpperCase())) throw new BadUrlError(urlText, `unknown mechanism ${mechanism}`);
    const url = parseImapUrl(urlText);
    if (!url || !url.access || url.token !== null || !urlText.toLowerCase().startsWith('imap://')) {
      throw new BadUrlError(urlText, 'not an absolute rump URL with ;URLAUTH=');
    }
    if (!url.owner || url.owner.toLowerCase() !== user.name.toLowerCase()) throw new BadUrlError(urlText, 'not your URL');
    // No ;UIDVALIDITY is accepted (as Dovecot does): the key is per mailbox, so a mailbox
    // deleted and recreated under the same name gets a new key and old URLs stop working.
    const found = await this.locate(user.id, url, urlText);
    return `${url.rump}:INTERNAL:${await this.token(user.id, found.mailboxId, url.rump)}`;
  }

  /** RESETKEY (RFC 4467 4): all of the user's mailboxes, or one. */
  async reset(user: User, mailboxName: string | null): Promise<void> {
    if (mailboxName === null) return this.keys.reset(user.id, null);
    const mailbox = await this.store.getMailbox(user.id, mailboxName);
    if (!mailbox) throw new MemgateError(`No mailbox ${mailboxName}`, { imapCode: 'NONEXISTENT' });
    await this.keys.reset(user.id, mailbox.id);
  }

  /**
   * An authorized URL's content for `requester` (URLFETCH, BURL). Checks the access
   * identifier, the expiry and the token; every failure is the same BADURL to the client.
   */
  async fetchAuthorized(urlText: string, requester: Requester): Promise<ResolvedUrl> {
    const url = parseImapUrl(urlText);
    if (!url || !url.access || url.token === null || url.mechanism === null || !url.owner) {
      throw new BadUrlError(urlText, 'not an authorized IMAP URL');
    }
    if (url.mechanism !== 'INTERNAL') throw new BadUrlError(urlText, 'unknown mechanism');
    if (url.expire && url.expire.getTime() <= Date.now()) throw new BadUrlError(urlText, 'expired');
    if (!allowed(url, requester)) throw new BadUrlError(urlText, 'not authorized for this user');
    const ownerId = await this.keys.userIdByName(url.owner);
    if (!ownerId) throw new BadUrlError(urlText, 'no such owner');
    const mailbox = await this.store.getMailbox(ownerId, url.mailbox);
    if (!mailbox) throw new BadUrlError(urlText, 'no such mailbox');
    const expected = Buffer.from(await this.token(ownerId, mailbox.id, url.rump), 'hex');
    const given = Buffer.from(url.token, 'hex');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new BadUrlError(urlText, 'verification failed');
    return this.locate(ownerId, url, urlText);
  }

  /** A URL for CATENATE: the session's own (no URLAUTH needed) or an authorized one. */
  async fetchForSession(user: User, urlText: string): Promise<ResolvedUrl> {
    const url = parseImapUrl(urlText);
    if (!url) throw new BadUrlError(urlText, 'not an IMAP URL naming a message');
    if (url.token !== null) return this.fetchAuthorized(urlText, { kind: 'imap', user });
    if (url.owner && url.owner.toLowerCase() !== user.name.toLowerCase()) throw new BadUrlError(urlText, 'not your mailbox');
    return this.locate(user.id, url, urlText);
  }

  /** The bytes a URL names in the owner's mailbox. */
  private async locate(ownerId: string, url: ImapUrl, urlText: string): Promise<ResolvedUrl> {
    const mailbox = await this.store.getMailbox(ownerId, url.mailbox);
    if (!mailbox) throw new BadUrlError(urlText, 'no such mailbox');
    if (url.uidValidity !== null && url.uidValidity !== mailbox.uidValidity) throw new BadUrlError(urlText, 'UIDVALIDITY changed');
    const message = (await this.store.listMessages(ownerId, mailbox.id)).find((m) => m.uid === url.uid);
    if (!message) throw new BadUrlError(urlText, 'no such message');
    const content = await this.store.getContent(ownerId, message.contentId);
    if (!content) throw new BadUrlError(urlText, 'no such message');
    const spec = sectionSpec(url.section);
    if (!spec) throw new BadUrlError(urlText, 'bad SECTION');
    let bytes = url.section === null ? content.raw : sectionBytes(content.raw, parseMessage(content.raw), spec);
    if (bytes === null) throw new BadUrlError(urlText, 'no such section');
    if (url.partial) {
      const end = url.partial.length === null ? bytes.length : url.partial.offset + url.partial.length;
      bytes = bytes.subarray(Math.min(url.partial.offset, bytes.length), Math.min(end, bytes.length));
    }
    return {
      bytes,
      ownerId,
      mailboxId: mailbox.id,
      uid: url.uid,
      wholeMessage: url.section === null && url.partial === null,
      message: content.raw,
      section: spec,
      partial: url.partial ?? null,
    };
  }
}

function allowed(url: ImapUrl, requester: Requester): boolean {
  const access = url.access!;
  const name = requester.user.name.toLowerCase();
  switch (access.kind) {
    case 'anonymous':
    case 'authuser':
      return true;
    case 'user':
      return requester.kind === 'imap' && access.user.toLowerCase() === name;
    case 'submit':
      return requester.kind === 'submit' && access.user.toLowerCase() === name;
    default: {
      const never: never = access;
      return never;
    }
  }
}
