// The history of one mailbox (users.history.list). historyIds grow monotonically, but not
// by one: real Gmail leaves gaps, so the emulator does too (an adapter must not assume
// contiguity). Records are kept up to a horizon; a startHistoryId older than the oldest
// record that was dropped answers 404, which is Gmail's signal for a full resync.

import { badRequest, notFound } from './errors';

export type HistoryType = 'messageAdded' | 'messageDeleted' | 'labelAdded' | 'labelRemoved';

export interface HistoryRecord {
  id: number;
  at: number;
  type: HistoryType;
  messageId: string;
  threadId: string;
  /** Labels added or removed (labelAdded / labelRemoved). */
  changed: string[];
  /** The message's labels right after the change. */
  labelsAfter: string[];
}

export interface HistoryHorizon {
  /** Records older than this (ms, by the emulator clock) are dropped. */
  maxAgeMs?: number;
  /** At most this many records are kept. */
  maxRecords?: number;
}

export interface HistoryQuery {
  startHistoryId: number;
  types?: HistoryType[];
  labelId?: string;
  maxResults: number;
  pageToken?: string;
}

const FIELD: Record<HistoryType, string> = {
  messageAdded: 'messagesAdded',
  messageDeleted: 'messagesDeleted',
  labelAdded: 'labelsAdded',
  labelRemoved: 'labelsRemoved',
};

export class HistoryLog {
  private records: HistoryRecord[] = [];
  private currentId: number;
  private bumps = 0;
  /** Highest id among dropped records: a startHistoryId below it has lost history. */
  private lostThrough = 0;

  constructor(
    startId: number,
    private readonly now: () => number,
    public horizon: HistoryHorizon = {},
  ) {
    this.currentId = startId;
  }

  current(): number {
    return this.currentId;
  }

  /** A new history id, for a change that has no record of its own (label edits). */
  bump(): number {
    this.bumps++;
    this.currentId += 1 + (this.bumps % 3);
    return this.currentId;
  }

  add(type: HistoryType, messageId: string, threadId: string, changed: string[], labelsAfter: string[]): HistoryRecord {
    const rec: HistoryRecord = { id: this.bump(), at: this.now(), type, messageId, threadId, changed: [...changed], labelsAfter: [...labelsAfter] };
    this.records.push(rec);
    this.prune();
    return rec;
  }

  /** Drops every record so far, as if the horizon had passed all of them. */
  expireAll(): void {
    this.lostThrough = this.currentId;
    this.records = [];
  }

  prune(): void {
    const { maxAgeMs, maxRecords } = this.horizon;
    let drop = 0;
    if (maxAgeMs !== undefined) {
      const limit = this.now() - maxAgeMs;
      while (drop < this.records.length && this.records[drop]!.at < limit) drop++;
    }
    if (maxRecords !== undefined) drop = Math.max(drop, this.records.length - maxRecords);
    if (drop > 0) {
      this.lostThrough = this.records[drop - 1]!.id;
      this.records = this.records.slice(drop);
    }
  }

  list(q: HistoryQuery): Record<string, unknown> {
    this.prune();
    if (q.startHistoryId < this.lostThrough) throw notFound();
    let after = q.startHistoryId;
    if (q.pageToken !== undefined) {
      const token = Number(Buffer.from(q.pageToken, 'base64url').toString());
      if (!Number.isSafeInteger(token) || token < after) throw badRequest('Invalid pageToken');
      after = token;
    }
    const out: Record<string, unknown>[] = [];
    let last = 0;
    let more = false;
    for (const r of this.records) {
      if (r.id <= after) continue;
      if (q.types && !q.types.includes(r.type)) continue;
      if (q.labelId !== undefined && !r.labelsAfter.includes(q.labelId) && !r.changed.includes(q.labelId)) continue;
      if (out.length === q.maxResults) {
        more = true;
        break;
      }
      out.push(render(r));
      last = r.id;
    }
    const body: Record<string, unknown> = {};
    if (out.length > 0) body.history = out;
    if (more) body.nextPageToken = Buffer.from(String(last)).toString('base64url');
    body.historyId = String(this.currentId);
    return body;
  }
}

function render(r: HistoryRecord): Record<string, unknown> {
  const ref = { id: r.messageId, threadId: r.threadId };
  const message = { ...ref, labelIds: [...r.labelsAfter] };
  const entry = r.type === 'labelAdded' || r.type === 'labelRemoved' ? { message, labelIds: [...r.changed] } : { message };
  return { id: String(r.id), messages: [ref], [FIELD[r.type]]: [entry] };
}
