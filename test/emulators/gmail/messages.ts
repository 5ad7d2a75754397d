// One Gmail mailbox: messages with their labels, threads, labels and history. Every change
// that Gmail records in history goes through here, so history, the messages' historyIds and
// push notifications stay consistent.

import { badRequest, notFound } from './errors';
import { headerValues, parseStored, type StoredMessage } from './format';
import { HistoryLog, type HistoryHorizon, type HistoryRecord, type HistoryType } from './history';
import { IMMUTABLE_SYSTEM_LABELS, LabelStore, type LabelCounts } from './labels';
import { compileQuery } from './query';

export interface AddOptions {
  labelIds: string[];
  threadId?: string;
  /** receivedTime (now) or dateHeader (the Date: field, now when it is missing). */
  internalDateSource?: 'receivedTime' | 'dateHeader';
}

export interface ListOptions {
  q?: string;
  labelIds?: string[];
  includeSpamTrash?: boolean;
  maxResults: number;
  pageToken?: string;
}

export type MailboxListener = (mailbox: Mailbox, record: HistoryRecord) => void;

let idCounter = 0x18c2a5f0000n;

function newId(): string {
  idCounter += 1n + BigInt(Math.floor(Math.random() * 16));
  return idCounter.toString(16);
}

function normalizedSubject(m: StoredMessage): string {
  return (headerValues(m, 'subject')[0] ?? '').replace(/^\s*((re|fwd?|aw|sv)\s*:\s*)+/i, '').trim().toLowerCase();
}

function messageIdsIn(values: string[]): string[] {
  return values.flatMap((v) => v.match(/<[^<>\s]+>/g) ?? []);
}

export class Mailbox {
  readonly labels = new LabelStore();
  readonly history: HistoryLog;
  private readonly messages = new Map<string, StoredMessage>();
  readonly listeners: MailboxListener[] = [];

  constructor(
    readonly email: string,
    private readonly now: () => number,
    startHistoryId: number,
    horizon: HistoryHorizon = {},
  ) {
    this.history = new HistoryLog(startHistoryId, now, horizon);
  }

  all(): StoredMessage[] {
    return [...this.messages.values()];
  }

  get(id: string): StoredMessage {
    const m = this.messages.get(id);
    if (!m) throw notFound();
    return m;
  }

  has(id: string): boolean {
    return this.messages.has(id);
  }

  private record(m: StoredMessage, type: HistoryType, changed: string[] = []): void {
    const rec = this.history.add(type, m.id, m.threadId, changed, m.labelIds);
    m.historyId = rec.id;
    for (const l of this.listeners) l(this, rec);
  }

  private checkLabels(ids: string[], forModify: boolean): void {
    for (const id of ids) {
      if (!this.labels.get(id) || (forModify && IMMUTABLE_SYSTEM_LABELS.has(id))) throw badRequest(`Invalid label: ${id}`);
    }
  }

  add(raw: Buffer, opts: AddOptions): StoredMessage {
    if (raw.length === 0) throw badRequest("'raw' RFC822 payload message string or uploading message via /upload/* URL required");
    this.checkLabels(opts.labelIds, false);
    const { root, snippet } = parseStored(raw);
    let internalDate = this.now();
    if (opts.internalDateSource === 'dateHeader') {
      const date = root.headers.find((h) => h.name.toLowerCase() === 'date');
      const parsed = date ? Date.parse(date.value) : NaN;
      if (Number.isFinite(parsed)) internalDate = parsed;
    }
    const id = newId();
    const m: StoredMessage = { id, threadId: id, raw, root, labelIds: [...new Set(opts.labelIds)], internalDate, historyId: 0, snippet };
    m.threadId = this.threadFor(m, opts.threadId) ?? id;
    this.messages.set(id, m);
    this.record(m, 'messageAdded');
    return m;
  }

  /** Gmail threads a message when it refers (References / In-Reply-To) to a message of
   * the thread and the subjects match; a requested threadId must meet the same test. */
  private threadFor(m: StoredMessage, requested: string | undefined): string | undefined {
    const refs = new Set(messageIdsIn([...headerValues(m, 'references'), ...headerValues(m, 'in-reply-to')]));
    if (refs.size === 0) return undefined;
    const subject = normalizedSubject(m);
    for (const other of this.messages.values()) {
      if (requested !== undefined && other.threadId !== requested) continue;
      const ids = messageIdsIn(headerValues(other, 'message-id'));
      if (ids.some((i) => refs.has(i)) && normalizedSubject(other) === subject) return other.threadId;
    }
    return undefined;
  }

  modify(id: string, add: string[], remove: string[]): StoredMessage {
    const m = this.get(id);
    this.checkLabels([...add, ...remove], true);
    this.applyLabels(m, add, remove);
    return m;
  }

  private applyLabels(m: StoredMessage, add: string[], remove: string[]): void {
    const added = [...new Set(add)].filter((l) => !m.labelIds.includes(l) && !remove.includes(l));
    const removed = [...new Set(remove)].filter((l) => m.labelIds.includes(l));
    if (added.length > 0) {
      m.labelIds.push(...added);
      this.record(m, 'labelAdded', added);
    }
    if (removed.length > 0) {
      m.labelIds = m.labelIds.filter((l) => !removed.includes(l));
      this.record(m, 'labelRemoved', removed);
    }
  }

  batchModify(ids: string[], add: string[], remove: string[]): void {
    if (ids.length > 1000) throw badRequest('Too many ids (at most 1000)');
    this.checkLabels([...add, ...remove], true);
    // Unknown ids are skipped, as Gmail does.
    for (const id of ids) {
      const m = this.messages.get(id);
      if (m) this.applyLabels(m, add, remove);
    }
  }

  /** Trash keeps the other labels but leaves the inbox; untrash does not return it there. */
  trash(id: string): StoredMessage {
    const m = this.get(id);
    this.applyLabels(m, ['TRASH'], ['INBOX', 'SPAM']);
    return m;
  }

  untrash(id: string): StoredMessage {
    const m = this.get(id);
    this.applyLabels(m, [], ['TRASH']);
    return m;
  }

  delete(id: string): void {
    const m = this.get(id);
    this.messages.delete(id);
    this.record(m, 'messageDeleted');
  }

  deleteLabel(labelId: string): void {
    this.labels.delete(labelId);
    for (const m of this.messages.values()) if (m.labelIds.includes(labelId)) this.applyLabels(m, [], [labelId]);
    this.history.bump();
  }

  /** Messages matching the filters, newest first (by internalDate, then id). */
  select(opts: Omit<ListOptions, 'maxResults' | 'pageToken'>): StoredMessage[] {
    const query = opts.q ? compileQuery(opts.q, this.labels, this.now) : undefined;
    const wanted = opts.labelIds ?? [];
    const spamTrashOk = opts.includeSpamTrash === true || query?.reachesSpamTrash === true || wanted.includes('SPAM') || wanted.includes('TRASH');
    return this.all()
      .filter((m) => wanted.every((l) => m.labelIds.includes(l)))
      .filter((m) => spamTrashOk || !(m.labelIds.includes('SPAM') || m.labelIds.includes('TRASH')))
      .filter((m) => !query || query.matches(m))
      .sort((a, b) => b.internalDate - a.internalDate || (b.id < a.id ? -1 : b.id > a.id ? 1 : 0));
  }

  threadMessages(threadId: string): StoredMessage[] {
    const msgs = this.all().filter((m) => m.threadId === threadId);
    if (msgs.length === 0) throw notFound();
    return msgs.sort((a, b) => a.internalDate - b.internalDate || (a.id < b.id ? -1 : 1));
  }

  labelCounts(labelId: string): LabelCounts {
    const inLabel = this.all().filter((m) => m.labelIds.includes(labelId));
    const unread = inLabel.filter((m) => m.labelIds.includes('UNREAD'));
    return {
      messagesTotal: inLabel.length,
      messagesUnread: unread.length,
      threadsTotal: new Set(inLabel.map((m) => m.threadId)).size,
      threadsUnread: new Set(unread.map((m) => m.threadId)).size,
    };
  }

  profile(): Record<string, unknown> {
    const all = this.all();
    return {
      emailAddress: this.email,
      messagesTotal: all.length,
      threadsTotal: new Set(all.map((m) => m.threadId)).size,
      historyId: String(this.history.current()),
    };
  }
}

/** Pages over a list sorted newest first by (time, id). The token names the sort key of
 * the last item returned, so insertions and deletions between pages neither repeat nor skip
 * older items. */
export function page<T>(items: T[], key: (t: T) => [number, string], maxResults: number, pageToken?: string): { items: T[]; nextPageToken?: string } {
  let start = 0;
  if (pageToken !== undefined) {
    const m = /^(\d+):([0-9a-f]+)$/.exec(Buffer.from(pageToken, 'base64url').toString());
    if (!m) throw badRequest('Invalid pageToken');
    const time = Number(m[1]);
    const id = m[2]!;
    start = items.findIndex((t) => {
      const [tt, ti] = key(t);
      return tt < time || (tt === time && ti < id);
    });
    if (start < 0) start = items.length;
  }
  const slice = items.slice(start, start + maxResults);
  if (start + maxResults >= items.length) return { items: slice };
  const [time, id] = key(slice[slice.length - 1]!);
  return { items: slice, nextPageToken: Buffer.from(`${time}:${id}`).toString('base64url') };
}
