// Client changes replayed to Gmail as label operations, the way Gmail's own IMAP server
// maps IMAP onto labels: COPY adds a label, MOVE swaps one, EXPUNGE removes the folder's
// label (deletes in Trash and Spam, trashes in All Mail), STORE changes UNREAD/STARRED,
// APPEND inserts with the folder's label, CREATE/RENAME/DELETE are label operations. Each
// is idempotent: replaying it after a crash changes nothing more.
import type { gmail_v1 } from 'googleapis';
import { AdapterError, type TrafficStats, type WriteBackOp, type WriteBackResult } from '../contract';
import type { GmailClient } from './client';
import { ALL_MAIL, appendLabels, flagChangeToLabels, labelPath, normalLabelName, PATH_PREFIX, type GmailLabel } from './mapping';

/** Labels the API does not let modify add or remove. */
export const FIXED_LABELS = new Set(['SENT', 'DRAFT', 'CHAT']);

export class GmailWriter {
  constructor(
    private readonly client: GmailClient,
    private readonly signal: AbortSignal,
    private readonly stats: TrafficStats,
    /** Called when a message's labels changed (cached metadata is stale). */
    private readonly touched: (id: string) => void = () => undefined,
  ) {}

  private get gmail(): gmail_v1.Gmail {
    return this.client.gmail;
  }

  async apply(op: WriteBackOp): Promise<WriteBackResult | void> {
    switch (op.kind) {
      case 'flags': {
        const { addLabelIds, removeLabelIds } = flagChangeToLabels(op.add, op.remove);
        return this.modify(op.id, addLabelIds, removeLabelIds);
      }
      case 'expunge':
        return this.expunge(op.folderId, op.id);
      case 'move':
        await this.move(op.fromFolderId, op.toFolderId, op.id);
        return { id: op.id };
      case 'copy':
        await this.copy(op.toFolderId, op.id);
        return { id: op.id };
      case 'append':
        return { id: await this.append(op.folderId, op.raw, op.flags, op.retry === true) };
      case 'createFolder':
        return { folderId: await this.createFolder(op.name, op.parentId) };
      case 'renameFolder':
        return this.renameFolder(op.folderId, op.name, op.parentId);
      case 'deleteFolder':
        return this.deleteFolder(op.folderId);
      default: {
        const never: never = op;
        throw new AdapterError('unsupported', `Gmail adapter cannot apply ${(never as { kind: string }).kind}`);
      }
    }
  }

  private labelTarget(folderId: string, what: string): void {
    if (folderId.startsWith(PATH_PREFIX)) throw new AdapterError('unsupported', `${folderId.slice(PATH_PREFIX.length)} is only a level of the label hierarchy: it holds no messages`);
    if (FIXED_LABELS.has(folderId)) throw new AdapterError('unsupported', `Gmail does not let messages be ${what} ${folderId}`);
  }

  /** COPY: the message gets the target folder's label (the same Gmail message, the same id). */
  async copy(toFolderId: string, id: string): Promise<void> {
    if (toFolderId === ALL_MAIL) return;
    this.labelTarget(toFolderId, 'copied into');
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
      } else if (!folderId.startsWith(PATH_PREFIX)) {
        await this.modify(id, [], [folderId]);
      }
      this.touched(id);
    } catch (err) {
      if (err instanceof AdapterError && err.kind === 'gone') return; // already gone: done
      throw err;
    }
  }

  /** MOVE: one label change; the Gmail id stays the same. */
  async move(fromFolderId: string, toFolderId: string, id: string): Promise<void> {
    if (fromFolderId === toFolderId) return;
    this.labelTarget(toFolderId, 'moved into');
    const add = toFolderId === ALL_MAIL ? [] : [toFolderId];
    const remove = fromFolderId === ALL_MAIL || FIXED_LABELS.has(fromFolderId) || fromFolderId.startsWith(PATH_PREFIX) ? [] : [fromFolderId];
    // Spam and Trash exclude each other.
    if (toFolderId === 'TRASH' && !remove.includes('SPAM')) remove.push('SPAM');
    if (toFolderId === 'SPAM' && !remove.includes('TRASH')) remove.push('TRASH');
    await this.modify(id, add, remove);
  }

  async modify(id: string, addLabelIds: string[], removeLabelIds: string[]): Promise<void> {
    if (addLabelIds.length === 0 && removeLabelIds.length === 0) return;
    await this.client.call(
      'messages.modify',
      (signal) => this.gmail.users.messages.modify({ userId: 'me', id, requestBody: { addLabelIds, removeLabelIds } }, { signal }),
      this.signal,
    );
    this.touched(id);
  }

  /** STORE on many messages at once: one batchModify (50 units) per 1000 ids. */
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
      chunk.forEach((id) => this.touched(id));
    }
  }

  /**
   * APPEND: messages.insert (requestBody.raw: the media upload would go to Google's host)
   * with the folder's label and the flags as labels. A retried append first looks for the
   * message by Message-ID in that folder, so a first attempt that did arrive is not doubled.
   */
  async append(folderId: string, raw: Buffer, flags: readonly string[], retry: boolean): Promise<string> {
    if (folderId !== 'SENT') this.labelTarget(folderId, 'appended to');
    const labelIds = appendLabels(folderId, flags);
    const head = raw.subarray(0, 64 * 1024).toString('latin1').split(/\r?\n\r?\n/)[0] ?? '';
    const messageId = /^Message-ID:[ \t]*(?:\r?\n[ \t]+)?<([^>\r\n]+)>/im.exec(head)?.[1];
    if (retry && messageId) {
      const found = await this.client.call(
        'messages.list',
        (signal) =>
          this.gmail.users.messages.list(
            { userId: 'me', q: `rfc822msgid:${messageId}`, includeSpamTrash: true, ...(folderId === ALL_MAIL ? {} : { labelIds: [folderId] }) },
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
        this.gmail.users.messages.insert({ userId: 'me', internalDateSource: 'dateHeader', requestBody: { raw: raw.toString('base64url'), labelIds } }, { signal }),
      this.signal,
    );
    this.stats.bytesOut += raw.length;
    if (!res.id) throw new AdapterError('protocol', 'Gmail inserted a message without an id');
    return res.id;
  }

  private async labels(): Promise<gmail_v1.Schema$Label[]> {
    const res = await this.client.call('labels.list', (signal) => this.gmail.users.labels.list({ userId: 'me' }, { signal }), this.signal);
    return res.labels ?? [];
  }

  /** The full label name for a folder `name` under `parentId` (null: top level). */
  private fullName(name: string, parentId: string | null, labels: readonly GmailLabel[]): string {
    if (name.includes('/') || normalLabelName(name) !== name) throw new AdapterError('unsupported', `a Gmail folder name cannot contain "/" on its own: ${name}`);
    if (parentId === null) return name;
    const parent = labelPath(parentId, labels);
    if (parent === null) throw new AdapterError('unsupported', `folders cannot be created under ${parentId} at Gmail`);
    return `${parent}/${name}`;
  }

  /** CREATE: a user label (an existing label of that name is reused). Returns its id. */
  async createFolder(name: string, parentId: string | null): Promise<string> {
    const labels = await this.labels();
    const full = this.fullName(name, parentId, labels);
    const same = labels.find((l) => l.name && normalLabelName(l.name) === full);
    if (same?.id) return same.id;
    const res = await this.client.call(
      'labels.create',
      (signal) =>
        this.gmail.users.labels.create({ userId: 'me', requestBody: { name: full, labelListVisibility: 'labelShow', messageListVisibility: 'show' } }, { signal }),
      this.signal,
    );
    if (!res.id) throw new AdapterError('protocol', 'Gmail created a label without an id');
    return res.id;
  }

  /** RENAME: the label keeps its id and its messages; labels nested under it move with it. */
  async renameFolder(folderId: string, name: string, parentId: string | null): Promise<void> {
    const labels = await this.labels();
    const oldPath = labelPath(folderId, labels);
    if (oldPath === null) {
      if (labels.some((l) => l.id === folderId)) throw new AdapterError('unsupported', `Gmail system label ${folderId} cannot be renamed`);
      throw new AdapterError('gone', `no Gmail label ${folderId}`);
    }
    const newPath = this.fullName(name, parentId, labels);
    if (oldPath === newPath) return;
    for (const l of labels) {
      if (!l.id || !l.name || l.type === 'system') continue;
      const n = normalLabelName(l.name);
      const renamed = l.id === folderId ? newPath : n.startsWith(`${oldPath}/`) ? `${newPath}${n.slice(oldPath.length)}` : null;
      if (renamed === null || renamed === l.name) continue;
      await this.client.call('labels.patch', (signal) => this.gmail.users.labels.patch({ userId: 'me', id: l.id!, requestBody: { name: renamed } }, { signal }), this.signal);
    }
  }

  /** DELETE: the label goes; its messages stay in All Mail and their other labels. */
  async deleteFolder(folderId: string): Promise<void> {
    if (folderId.startsWith(PATH_PREFIX)) return; // a level without a label: nothing at Gmail
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
}
