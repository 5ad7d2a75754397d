// IMAP URLs (RFC 5092) as URLAUTH (RFC 4467), CATENATE (RFC 4469) and BURL (RFC 4468) use
// them: one message or part, `imap://owner@host/mailbox;UIDVALIDITY=v/;UID=u/;SECTION=s
// /;PARTIAL=o.l;EXPIRE=t;URLAUTH=access:INTERNAL:token`, or an absolute path without the
// server part (CATENATE, relative to the session). Pure: no store imports.
import type { SectionSpec } from '../../mime/section';

export type Access =
  | { kind: 'submit'; user: string }
  | { kind: 'user'; user: string }
  | { kind: 'authuser' }
  | { kind: 'anonymous' };

export interface ImapUrl {
  /** The URL's owner (`imap://owner@host/...`); null in a path-only URL. */
  owner: string | null;
  mailbox: string;
  uidValidity: number | null;
  uid: number;
  section: string | null;
  partial: { offset: number; length: number | null } | null;
  expire: Date | null;
  access: Access | null;
  /** Everything up to and including the access identifier (what the token signs). */
  rump: string;
  mechanism: string | null;
  token: string | null;
}

function decode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

function parseAccess(text: string): Access | null {
  const lower = text.toLowerCase();
  if (lower === 'authuser') return { kind: 'authuser' };
  if (lower === 'anonymous') return { kind: 'anonymous' };
  const m = /^(submit|user)\+(.+)$/i.exec(text);
  const user = m ? decode(m[2]) : null;
  if (!m || !user) return null;
  return { kind: m[1].toLowerCase() === 'submit' ? 'submit' : 'user', user };
}

const PATH =
  /^\/([^;/]+)(?:;UIDVALIDITY=([1-9]\d{0,9}))?\/;UID=([1-9]\d{0,9})(?:\/;SECTION=([^/;]+))?(?:\/;PARTIAL=(\d{1,10})(?:\.([1-9]\d{0,9}))?)?(?:;EXPIRE=([^;]+))?(?:;URLAUTH=([^:;]+))?(?::([A-Za-z0-9-]+):([0-9A-Fa-f]+))?$/i;

/** Parses one IMAP URL naming a message or part; null when it is not one. */
export function parseImapUrl(url: string): ImapUrl | null {
  let owner: string | null = null;
  let path = url;
  const server = /^imap:\/\/(?:([^@/;]*)(?:;AUTH=[^@/]*)?@)?[^/@]+(\/.*)$/i.exec(url);
  if (server) {
    owner = server[1] ? decode(server[1]) : null;
    if (server[1] && owner === null) return null;
    path = server[2];
  } else if (!url.startsWith('/')) {
    return null;
  }
  const m = PATH.exec(path);
  if (!m) return null;
  const mailbox = decode(m[1]);
  if (mailbox === null || mailbox === '') return null;
  let expire: Date | null = null;
  if (m[7] !== undefined) {
    expire = new Date(decode(m[7]) ?? '');
    if (Number.isNaN(expire.getTime())) return null;
  }
  let access: Access | null = null;
  if (m[8] !== undefined) {
    access = parseAccess(m[8]);
    if (!access) return null;
  }
  const mechanism = m[9] ?? null;
  const token = m[10] ?? null;
  const rump = mechanism === null ? url : url.slice(0, url.length - `:${m[9]}:${m[10]}`.length);
  return {
    owner,
    mailbox: /^inbox$/i.test(mailbox) ? 'INBOX' : mailbox,
    uidValidity: m[2] ? Number(m[2]) : null,
    uid: Number(m[3]),
    section: m[4] !== undefined ? decode(m[4]) : null,
    partial: m[5] !== undefined ? { offset: Number(m[5]), length: m[6] !== undefined ? Number(m[6]) : null } : null,
    expire,
    access,
    rump,
    mechanism: mechanism === null ? null : mechanism.toUpperCase(),
    token: token === null ? null : token.toLowerCase(),
  };
}

/** A URL's SECTION as a body section (`1.2`, `HEADER`, `TEXT`, `1.MIME`...); null if invalid. */
export function sectionSpec(section: string | null): SectionSpec | null {
  if (section === null) return { part: [] };
  const m = /^((?:[1-9]\d{0,5}\.)*[1-9]\d{0,5})?(?:\.?(HEADER|TEXT|MIME))?$/i.exec(section);
  if (!m || (!m[1] && !m[2])) return null;
  const part = m[1] ? m[1].split('.').map(Number) : [];
  const text = m[2]?.toUpperCase() as SectionSpec['text'] | undefined;
  if (text === 'MIME' && part.length === 0) return null;
  if (m[1] && m[2] && !section.includes(`.${m[2]}`)) return null;
  return text ? { part, text } : { part };
}
