// The Gmail adapter: labels are folders (a message sits in the folder of each of its labels,
// with its Gmail message id as the backend id in every one), UNREAD/STARRED/DRAFT are flags,
// users.history.list from the saved historyId gives typed changes, a history id Gmail no
// longer knows (404) gives a snapshot the sync engine reconciles by message id, metadata
// comes first (batched) and raw MIME on demand. Client changes are replayed as label
// changes the way Gmail's own IMAP server maps them.
import type { gmail_v1 } from 'googleapis';
import {
  AdapterError,
  type AdapterAccount,
  type BackendAdapter,
  type BackendCapabilities,
  type BackendChange,
  type BackendFolder,
  type BackendSession,
  type ChangeSet,
  type ListedMessage,
  type TrafficStats,
  type WriteBackOp,
} from '../contract';
import { GmailClient, gmailCredentials, gmailSettings, type GmailCredentials, type GmailSettings } from './client';
import { ALL_MAIL, appendLabels, flagChangeToLabels, flagsOf, inFolder, labelsToFolders, planFolderDelta, type HistoryRecordIn } from './mapping';
import { REAL_CLOCK, type Clock, type QuotaBudget } from './quota';

export { ALL_MAIL } from './mapping';

export const GMAIL_CAPABILITIES: BackendCapabilities = {
  folders: true,
  labels: true,
  serverFlags: true,
  keywords: false,
  move: true,
  append: true,
  send: true,
  // users.watch is implemented (GmailSession.watch) but no push endpoint is wired yet.
  push: false,
  changeCursors: true,
  delete: true,
};

/** Calls per batch request (Gmail allows 100; raw bodies are kept to smaller batches). */
const METADATA_BATCH = 100;
const RAW_BATCH = 20;
const LIST_PAGE = 500;
/** Labels the API does not let modify add or remove. */
const FIXED_LABELS = new Set(['SENT', 'DRAFT', 'CHAT']);

interface Metadata {
  id: string;
  labelIds: string[];
  sizeEstimate: number;
  internalDate?: Date;
}

type History = { kind: 'records'; start: bigint; records: HistoryRecordIn[]; end: string } | { kind: 'gone'; start: bigint };

export interface GmailAdapterOptions {
  clock?: Clock;
  budget?: QuotaBudget;
}

function toBig(id: string): bigint {
  if (!/^\d+$/.test(id)) throw new AdapterError('protocol', `not a Gmail history id: ${id}`);
  return BigInt(id);
}

export class GmailSession implements BackendSession {
  private readonly abortController = new AbortController();
  private readonly metadata = new Map<string, Metadata>();
  private history: History | null = null;
  private profileHistoryId: string | null = null;

  constructor(
    readonly client: GmailClient,
    private readonly stats: TrafficStats,
  ) {}

  private get signal(): AbortSignal {
    return this.abortController.signal;
  }

  private get gmail(): gmail_v1.Gmail {
    return this.client.gmail;
  }

  async listFolders(): Promise<BackendFolder[]> {
    const res = await this.client.call('labels.list', (signal) => this.gmail.users.labels.list({ userId: 'me' }, { signal }), this.signal);
    return labelsToFolders(res.labels ?? [], this.client.settings);
  }

  async changes(folderId: string, cursor: string | null): Promise<ChangeSet> {
    if (cursor === null) return this.snapshot(folderId);
    const history = await this.historySince(cursor);
    if (history.kind === 'gone') return this.snapshot(folderId);
    const after = toBig(cursor);
    const records = history.records.filter((r) => r.id == null || toBig(r.id) > after);
    const plan = planFolderDelta(folderId, records);
    const created = plan.filter((p) => p.kind === 'created').map((p) => p.id);
    const meta = await this.fetchMetadata(created);
    const changes: BackendChange[] = [];
    for (const p of plan) {
      switch (p.kind) {
        case 'created': {
          const m = meta.get(p.id);
          // Gone since, or moved out again after this stretch of history: later history says so.
          if (!m || !inFolder(folderId, m.labelIds)) continue;
          changes.push({ kind: 'created', folderId, message: listed(m) });
          break;
        }
        case 'flags':
          changes.push({ kind: 'flags', folderId, id: p.id, flags: p.flags });
          break;
        case 'deleted':
          changes.push({ kind: 'deleted', folderId, id: p.id });
          break;
      }
    }
    return { kind: 'delta', changes, cursor: history.end };
  }

  /** Every message of the folder, oldest first (the order their UIDs should follow). */
  private async snapshot(folderId: string): Promise<ChangeSet> {
    // The cursor is read before listing: changes during the listing come again as history.
    const cursor = await this.currentHistoryId();
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.client.call(
        'messages.list',
        (signal) =>
          this.gmail.users.messages.list(
            {
              userId: 'me',
              maxResults: LIST_PAGE,
              pageToken,
              ...(folderId === ALL_MAIL ? {} : { labelIds: [folderId] }),
              includeSpamTrash: folderId === 'SPAM' || folderId === 'TRASH',
            },
            { signal },
          ),
        this.signal,
      );
      for (const m of res.messages ?? []) if (m.id) ids.push(m.id);
      pageToken = res.nextPageToken ?? undefined;
    } while (pageToken);
    ids.reverse();
    const meta = await this.fetchMetadata(ids);
    const messages: ListedMessage[] = [];
    for (const id of ids) {
      const m = meta.get(id);
      if (m && inFolder(folderId, m.labelIds)) messages.push(listed(m));
    }
    return { kind: 'snapshot', folderId, messages, cursor };
  }

  private async currentHistoryId(): Promise<string> {
    if (this.profileHistoryId === null) {
      const p = await this.client.call('getProfile', (signal) => this.gmail.users.getProfile({ userId: 'me' }, { signal }), this.signal);
      if (!p.historyId) throw new AdapterError('protocol', 'Gmail profile without a historyId');
      this.profileHistoryId = p.historyId;
    }
    return this.profileHistoryId;
  }

  /**
   * History since a cursor, fetched once per session for all folders (they share the
   * account's history id), so a poll with nothing new costs one history.list (2 units).
   */
  private async historySince(cursor: string): Promise<History> {
    const start = toBig(cursor);
    if (this.history && this.history.start <= start) {
      if (this.history.kind === 'records' || this.history.start === start) return this.history;
    }
    const records: HistoryRecordIn[] = [];
    let pageToken: string | undefined;
    let end = cursor;
    try {
      do {
        const res = await this.client.call(
          'history.list',
          (signal) => this.gmail.users.history.list({ userId: 'me', startHistoryId: cursor, maxResults: LIST_PAGE, pageToken }, { signal }),
          this.signal,
        );
        records.push(...(res.history ?? []));
        if (res.historyId) end = res.historyId;
        pageToken = res.nextPageToken ?? undefined;
      } while (pageToken);
    } catch (err) {
      // 404: the history id is older than Gmail keeps (about a week): resync by message id.
      if (err instanceof AdapterError && err.kind === 'gone') {
        this.history = { kind: 'gone', start };
        return this.history;
      }
      throw err;
    }
    this.history = { kind: 'records', start, records, end };
    return this.history;
  }

  /** Metadata (labels, size, date) of messages, batched; missing ones (404) are left out. */
  private async fetchMetadata(ids: readonly string[]): Promise<Map<string, Metadata>> {
    const out = new Map<string, Metadata>();
    const wanted = [...new Set(ids)].filter((id) => {
      const m = this.metadata.get(id);
      if (m) out.set(id, m);
      return !m;
    });
    const perBatch = this.batchSize(METADATA_BATCH);
    for (let i = 0; i < wanted.length; i += perBatch) {
      const chunk = wanted.slice(i, i + perBatch);
      const answers = await this.client.batchGet<gmail_v1.Schema$Message>(
        'messages.get',
        chunk.map((id) => `messages/${encodeURIComponent(id)}?format=metadata&metadataHeaders=Message-ID`),
        this.signal,
      );
      answers.forEach((a, k) => {
        if (!a?.id) return;
        const m: Metadata = {
          id: a.id,
          labelIds: a.labelIds ?? [],
          sizeEstimate: a.sizeEstimate ?? 0,
          internalDate: a.internalDate ? new Date(Number(a.internalDate)) : undefined,
        };
        this.metadata.set(chunk[k]!, m);
        out.set(chunk[k]!, m);
      });
    }
    return out;
  }

  /** Calls per batch so that one batch fits well inside a minute's budget. */
  private batchSize(max: number): number {
    return Math.max(1, Math.min(max, Math.floor(this.client.settings.unitsPerMinute / 5 / 4)));
  }

  async fetchRaw(_folderId: string, ids: readonly string[], onMessage: (id: string, raw: Buffer) => Promise<void>): Promise<void> {
    const perBatch = this.batchSize(RAW_BATCH);
    for (let i = 0; i < ids.length; i += perBatch) {
      const chunk = ids.slice(i, i + perBatch);
      const answers =
        chunk.length === 1
          ? [await this.getRaw(chunk[0]!)]
          : await this.client.batchGet<gmail_v1.Schema$Message>('messages.get', chunk.map((id) => `messages/${encodeURIComponent(id)}?format=raw`), this.signal);
      for (let k = 0; k < chunk.length; k++) {
        const raw = answers[k]?.raw;
        if (typeof raw !== 'string') continue; // deleted at Gmail meanwhile
        const bytes = Buffer.from(raw, 'base64url');
        this.stats.bytesIn += bytes.length;
        await onMessage(chunk[k]!, bytes);
      }
    }
  }

  private async getRaw(id: string): Promise<gmail_v1.Schema$Message | null> {
    try {
      return await this.client.call('messages.get', (signal) => this.gmail.users.messages.get({ userId: 'me', id, format: 'raw' }, { signal }), this.signal);
    } catch (err) {
      if (err instanceof AdapterError && err.kind === 'gone') return null;
      throw err;
    }
  }

  /** Applies one client change; each is idempotent (a label already there, a message already gone). */
  async apply(op: WriteBackOp): Promise<void | { id: string }> {
    switch (op.kind) {
      case 'flags': {
        const { addLabelIds, removeLabelIds } = flagChangeToLabels(op.add, op.remove);
        return this.modify(op.id, addLabelIds, removeLabelIds);
      }
      case 'expunge':
        return this.expunge(op.folderId, op.id);
      case 'move':
        return this.move(op.fromFolderId, op.toFolderId, op.id);
      case 'append':
        return { id: await this.append(op.folderId, op.raw, op.flags) };
      default:
        // Operations this adapter does not know yet (the contract grows): never lost silently.
        throw new AdapterError('unsupported', `Gmail adapter cannot apply ${(op as { kind: string }).kind}`);
    }
  }

  /** COPY: the message gets the target folder's label. */
  async copy(toFolderId: string, id: string): Promise<void> {
    if (toFolderId === ALL_MAIL) return;
    if (FIXED_LABELS.has(toFolderId)) throw new AdapterError('unsupported', `Gmail does not let messages be copied into ${toFolderId}`);
    await this.modify(id, [toFolderId], []);
  }

  /**
   * EXPUNGE as Gmail's own IMAP does it: in a label folder it removes that label; in Trash
   * and Spam it deletes for good; in All Mail (and Sent/Drafts, whose labels cannot be
   * removed) it moves the message to the trash.
   */
  async expunge(folderId: string, id: string): Promise<void> {
    try {
      if (folderId === 'TRASH' || folderId === 'SPAM') {
        await this.client.call('messages.delete', (signal) => this.gmail.users.messages.delete({ userId: 'me', id }, { signal }), this.signal);
      } else if (folderId === ALL_MAIL || FIXED_LABELS.has(folderId)) {
        await this.client.call('messages.trash', (signal) => this.gmail.users.messages.trash({ userId: 'me', id }, { signal }), this.signal);
      } else {
        await this.modify(id, [], [folderId]);
      }
    } catch (err) {
      if (err instanceof AdapterError && err.kind === 'gone') return; // already gone: done
      throw err;
    }
  }

  /** MOVE: one label change (the Gmail id stays the same). */
  async move(fromFolderId: string, toFolderId: string, id: string): Promise<void> {
    if (fromFolderId === toFolderId) return;
    if (FIXED_LABELS.has(toFolderId)) throw new AdapterError('unsupported', `Gmail does not let messages be moved into ${toFolderId}`);
    const add = toFolderId === ALL_MAIL ? [] : [toFolderId];
    const remove = fromFolderId === ALL_MAIL || FIXED_LABELS.has(fromFolderId) ? [] : [fromFolderId];
    // Spam and Trash exclude each other.
    if (toFolderId === 'TRASH' && !remove.includes('SPAM')) remove.push('SPAM');
    if (toFolderId === 'SPAM' && !remove.includes('TRASH')) remove.push('TRASH');
    await this.modify(id, add, remove);
  }

  private async modify(id: string, addLabelIds: string[], removeLabelIds: string[]): Promise<void> {
    if (addLabelIds.length === 0 && removeLabelIds.length === 0) return;
    await this.client.call(
      'messages.modify',
      (signal) => this.gmail.users.messages.modify({ userId: 'me', id, requestBody: { addLabelIds, removeLabelIds } }, { signal }),
      this.signal,
    );
    this.metadata.delete(id);
  }

  /** STORE on many messages at once: one batchModify (50 units) for up to 1000 ids. */
  async modifyMany(ids: readonly string[], add: readonly string[], remove: readonly string[]): Promise<void> {
    const { addLabelIds, removeLabelIds } = flagChangeToLabels(add, remove);
    if (addLabelIds.length === 0 && removeLabelIds.length === 0) return;
    for (let i = 0; i < ids.length; i += 1000) {
      const chunk = ids.slice(i, i + 1000);
      await this.client.call(
        'messages.batchModify',
        (signal) => this.gmail.users.messages.batchModify({ userId: 'me', requestBody: { ids: chunk, addLabelIds, removeLabelIds } }, { signal }),
        this.signal,
      );
    }
  }

  /**
   * APPEND: messages.insert with the folder's label and the flags as labels. A message with a
   * Message-ID that is already in the folder is not inserted again (a replayed write-back).
   */
  async append(folderId: string, raw: Buffer, flags: readonly string[]): Promise<string> {
    if (FIXED_LABELS.has(folderId) && folderId !== 'SENT') throw new AdapterError('unsupported', `Gmail does not let messages be appended to ${folderId}`);
    const labelIds = appendLabels(folderId, flags);
    const messageId = /^Message-ID:[ \t]*(<[^>\r\n]+>)/im.exec(raw.subarray(0, 64 * 1024).toString('latin1').split(/\r?\n\r?\n/)[0] ?? '')?.[1];
    if (messageId) {
      const found = await this.client.call(
        'messages.list',
        (signal) =>
          this.gmail.users.messages.list(
            { userId: 'me', q: `rfc822msgid:${messageId.slice(1, -1)}`, includeSpamTrash: true, ...(folderId === ALL_MAIL ? {} : { labelIds: [folderId] }) },
            { signal },
          ),
        this.signal,
      );
      const existing = found.messages?.[0]?.id;
      if (existing) return existing;
    }
    const res = await this.client.call(
      'messages.insert',
      (signal) =>
        this.gmail.users.messages.insert(
          { userId: 'me', internalDateSource: 'dateHeader', requestBody: { raw: raw.toString('base64url'), labelIds } },
          { signal },
        ),
      this.signal,
    );
    this.stats.bytesOut += raw.length;
    if (!res.id) throw new AdapterError('protocol', 'Gmail inserted a message without an id');
    return res.id;
  }

  /** CREATE: a user label (an existing label of that name is reused). Returns its id. */
  async createFolder(name: string): Promise<string> {
    try {
      const res = await this.client.call(
        'labels.create',
        (signal) =>
          this.gmail.users.labels.create(
            { userId: 'me', requestBody: { name, labelListVisibility: 'labelShow', messageListVisibility: 'show' } },
            { signal },
          ),
        this.signal,
      );
      if (!res.id) throw new AdapterError('protocol', 'Gmail created a label without an id');
      return res.id;
    } catch (err) {
      if (!(err instanceof AdapterError) || err.kind !== 'protocol' || !/ 409:/.test(err.message)) throw err;
      const labels = await this.client.call('labels.list', (signal) => this.gmail.users.labels.list({ userId: 'me' }, { signal }), this.signal);
      const same = labels.labels?.find((l) => l.name === name);
      if (!same?.id) throw err;
      return same.id;
    }
  }

  /** RENAME: the label keeps its id (and its messages); nested labels are renamed with it. */
  async renameFolder(folderId: string, newName: string): Promise<void> {
    const labels = await this.client.call('labels.list', (signal) => this.gmail.users.labels.list({ userId: 'me' }, { signal }), this.signal);
    const label = labels.labels?.find((l) => l.id === folderId);
    if (!label?.name) throw new AdapterError('gone', `no Gmail label ${folderId}`);
    if (label.type === 'system') throw new AdapterError('unsupported', `Gmail system label ${folderId} cannot be renamed`);
    const oldName = label.name;
    if (oldName === newName) return;
    for (const l of labels.labels ?? []) {
      if (!l.id || !l.name || l.type === 'system') continue;
      const renamed = l.id === folderId ? newName : l.name.startsWith(`${oldName}/`) ? `${newName}${l.name.slice(oldName.length)}` : null;
      if (renamed === null) continue;
      await this.client.call(
        'labels.patch',
        (signal) => this.gmail.users.labels.patch({ userId: 'me', id: l.id!, requestBody: { name: renamed } }, { signal }),
        this.signal,
      );
    }
  }

  /** DELETE: the label goes; its messages stay in All Mail and their other labels. */
  async deleteFolder(folderId: string): Promise<void> {
    try {
      await this.client.call('labels.delete', (signal) => this.gmail.users.labels.delete({ userId: 'me', id: folderId }, { signal }), this.signal);
    } catch (err) {
      if (err instanceof AdapterError && err.kind === 'gone') return;
      throw err;
    }
  }

  /** Sends a message as it is (Bcc included); Gmail files the copy in Sent itself. */
  async send(raw: Buffer): Promise<string> {
    const res = await this.client.call(
      'messages.send',
      (signal) => this.gmail.users.messages.send({ userId: 'me', requestBody: { raw: raw.toString('base64url') } }, { signal }),
      this.signal,
    );
    this.stats.bytesOut += raw.length;
    if (!res.id) throw new AdapterError('protocol', 'Gmail sent a message without an id');
    return res.id;
  }

  /** users.watch: Gmail pushes to a Pub/Sub topic on every change. Renew daily (it lapses after 7 days). */
  async watch(topicName: string, labelIds?: string[]): Promise<{ historyId: string; expiration: Date }> {
    const res = await this.client.call(
      'watch',
      (signal) => this.gmail.users.watch({ userId: 'me', requestBody: { topicName, ...(labelIds ? { labelIds, labelFilterBehavior: 'include' } : {}) } }, { signal }),
      this.signal,
    );
    return { historyId: String(res.historyId ?? ''), expiration: new Date(Number(res.expiration ?? 0)) };
  }

  async stopWatch(): Promise<void> {
    await this.client.call('stop', (signal) => this.gmail.users.stop({ userId: 'me' }, { signal }), this.signal);
  }

  async profile(): Promise<{ emailAddress: string; historyId: string }> {
    const p = await this.client.call('getProfile', (signal) => this.gmail.users.getProfile({ userId: 'me' }, { signal }), this.signal);
    return { emailAddress: p.emailAddress ?? '', historyId: p.historyId ?? '' };
  }

  async close(): Promise<void> {
    // Nothing to commit: every change was applied when it was made.
  }

  abort(): void {
    this.abortController.abort(new AdapterError('unavailable', 'Gmail session aborted'));
  }
}

function listed(m: Metadata): ListedMessage {
  return { id: m.id, size: m.sizeEstimate, flags: flagsOf(m.labelIds), ...(m.internalDate ? { internalDate: m.internalDate } : {}) };
}

export class GmailAdapter implements BackendAdapter {
  readonly kind = 'gmail';
  readonly capabilities = GMAIL_CAPABILITIES;
  readonly stats: TrafficStats = { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 };
  readonly settings: GmailSettings;
  /** One client per adapter, so the access token and its refresh outlive a session. */
  readonly client: GmailClient;

  constructor(account: AdapterAccount, opts: GmailAdapterOptions = {}) {
    this.settings = gmailSettings(account.settings);
    const credentials: GmailCredentials = gmailCredentials(account.credentials);
    this.client = new GmailClient(this.settings, credentials, this.stats, opts.clock ?? REAL_CLOCK, opts.budget);
  }

  /** A session: makes sure there is a fresh access token (refreshing it before it expires). */
  async connect(): Promise<GmailSession> {
    const session = new GmailSession(this.client, this.stats);
    try {
      await this.client.authenticate();
    } catch (err) {
      session.abort();
      throw err;
    }
    this.stats.connections++;
    return session;
  }

  async probe(): Promise<void> {
    const session = await this.connect();
    try {
      const p = await session.profile();
      if (p.emailAddress.toLowerCase() !== this.settings.address.toLowerCase()) {
        throw new AdapterError('unsupported', `the Google grant is for ${p.emailAddress}, not ${this.settings.address}`);
      }
      await session.close();
    } finally {
      session.abort();
    }
  }
}

export function createGmailAdapter(account: AdapterAccount): BackendAdapter {
  return new GmailAdapter(account);
}
