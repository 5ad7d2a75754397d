// What SORT needs of a message's header (RFC 5256 3, RFC 5957 3), as comparison keys.
// Contents never change (design invariant 3), so the keys are kept in a small per-store
// LRU: a client re-sorting the same mailbox loads nothing again.
import type { MailStore } from '../../core/ports';
import { parseHeaderBlock, findField } from '../../mime/headers';
import { MISSING_DOMAIN, MISSING_MAILBOX, parseAddressList, type Address } from '../../mime/address';
import { bytesToText, decodeWords } from '../../mime/text';
import { baseSubject } from './base-subject';
import { casemapKey } from './collate';
import { Lru } from '../lru';

export interface SortFacts {
  /** Comparison keys (i;unicode-casemap applied). */
  subject: string;
  from: string;
  to: string;
  cc: string;
  displayFrom: string;
  displayTo: string;
  /** The Date field as ms since the epoch; null when missing or unreadable. */
  date: number | null;
}

export function sortFacts(raw: Buffer): SortFacts {
  const { fields } = parseHeaderBlock(raw, 0, raw.length);
  const value = (name: string): string | null => findField(fields, name)?.value ?? null;
  const subject = value('subject');
  const from = firstAddress(value('from'));
  const to = firstAddress(value('to'));
  const date = value('date');
  return {
    subject: casemapKey(baseSubject(subject === null ? '' : decodeWords(bytesToText(subject)))),
    from: casemapKey(mailboxOf(from)),
    to: casemapKey(mailboxOf(to)),
    cc: casemapKey(mailboxOf(firstAddress(value('cc')))),
    displayFrom: casemapKey(displayOf(from)),
    displayTo: casemapKey(displayOf(to)),
    date: date === null ? null : headerTime(date),
  };
}

function firstAddress(value: string | null): Address | null {
  if (value === null) return null;
  return parseAddressList(value)[0] ?? null;
}

/**
 * RFC 5256 3: the addr-mailbox of the first address. For a group that is the group name
 * (its ENVELOPE form puts the name in the mailbox slot), as Dovecot sorts it.
 */
function mailboxOf(a: Address | null): string {
  if (!a || a.mailbox === null || a.mailbox === MISSING_MAILBOX) return '';
  return decodeWords(bytesToText(a.mailbox));
}

/**
 * RFC 5957 3: the decoded display name of the first address, else its addr-spec; for a
 * group, the group name.
 */
function displayOf(a: Address | null): string {
  if (!a) return '';
  const name = a.name === null ? '' : decodeWords(bytesToText(a.name)).trim();
  if (name !== '') return name;
  const mailbox = mailboxOf(a);
  if (a.host === null || a.host === MISSING_DOMAIN) return mailbox;
  return `${mailbox}@${a.host}`;
}

const ZONES: Record<string, number> = {
  UT: 0, UTC: 0, GMT: 0, Z: 0,
  EST: -5, EDT: -4, CST: -6, CDT: -5, MST: -7, MDT: -6, PST: -8, PDT: -7,
};
const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * An RFC 5322 date-time (3.3, with the obsolete forms of 4.3) as ms since the epoch: the
 * instant it names, so messages from different zones compare correctly. Null when there is
 * no recognisable date (SORT then uses INTERNALDATE, RFC 5256 3).
 */
export function headerTime(value: string): number | null {
  const text = value.replace(/\([^()]*\)/g, ' ');
  const m =
    /(?:^|[\s,])(\d{1,2})\s*[\s-]\s*([A-Za-z]{3})[A-Za-z]*\.?\s*[\s-]\s*(\d{2,4})(?:\s+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s*([+-]\d{4}|[A-Za-z]{1,5}))?)?/.exec(
      text,
    );
  if (!m) return null;
  const month = MONTHS.indexOf(m[2].toLowerCase());
  if (month < 0) return null;
  let year = Number(m[3]);
  if (m[3].length === 2) year += year < 50 ? 2000 : 1900;
  else if (m[3].length === 3) year += 1900;
  const d = new Date(0);
  d.setUTCFullYear(year, month, Number(m[1]));
  d.setUTCHours(Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0), 0);
  let offsetMinutes = 0;
  const zone = m[7];
  if (zone !== undefined) {
    if (zone[0] === '+' || zone[0] === '-') {
      const sign = zone[0] === '-' ? -1 : 1;
      offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)));
    } else {
      // Military and unknown zones count as +0000 (RFC 5322 4.3).
      offsetMinutes = (ZONES[zone.toUpperCase()] ?? 0) * 60;
    }
  }
  const t = d.getTime() - offsetMinutes * 60_000;
  return Number.isFinite(t) ? t : null;
}

/** A few hundred bytes an entry. */
const LRU_SIZE = 50_000;
const caches = new WeakMap<MailStore, Lru<SortFacts>>();
const BATCH = 32;

/** The facts of the given contents; contents that are gone are absent. */
export async function loadSortFacts(store: MailStore, userId: string, contentIds: readonly string[]): Promise<Map<string, SortFacts>> {
  let lru = caches.get(store);
  if (!lru) caches.set(store, (lru = new Lru<SortFacts>(LRU_SIZE)));
  const found = new Map<string, SortFacts>();
  const missing: string[] = [];
  for (const id of new Set(contentIds)) {
    const hit = lru.get(`${userId}/${id}`);
    if (hit) found.set(id, hit);
    else missing.push(id);
  }
  for (let i = 0; i < missing.length; i += BATCH) {
    // Sort keys come from the top-level header: a header stored ahead of its body will do.
    const contents = await Promise.all(missing.slice(i, i + BATCH).map((id) => (store.getHeaderContent ? store.getHeaderContent(userId, id) : store.getContent(userId, id))));
    for (const content of contents) {
      if (!content) continue;
      const facts = sortFacts(content.raw);
      found.set(content.id, facts);
      lru.set(`${userId}/${content.id}`, facts);
    }
  }
  return found;
}
