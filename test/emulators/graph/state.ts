// The emulated Exchange Online tenant: mailboxes with folders and messages, in memory.
// Every change to a message is logged per folder with a sequence number (what delta reads)
// and announced as an event (what subscriptions turn into notifications). Tests use the
// same methods to make "server-side" changes: mail arriving, a folder renamed in Outlook.
//
// Ids follow Exchange: a message has a REST id that changes when it moves to another folder
// and an immutable id (Prefer: IdType="ImmutableId") that does not; folder ids never change.
import { randomBytes, randomUUID, createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { MimeSummary, isoSeconds, summarize } from './mime';

export const WELL_KNOWN: ReadonlyArray<{ name: string; displayName: string; hidden?: boolean }> = [
  { name: 'inbox', displayName: 'Inbox' },
  { name: 'drafts', displayName: 'Drafts' },
  { name: 'sentitems', displayName: 'Sent Items' },
  { name: 'deleteditems', displayName: 'Deleted Items' },
  { name: 'junkemail', displayName: 'Junk Email' },
  { name: 'archive', displayName: 'Archive' },
  { name: 'outbox', displayName: 'Outbox' },
  { name: 'conversationhistory', displayName: 'Conversation History' },
];

export interface FolderRecord {
  id: string;
  displayName: string;
  parentFolderId: string;
  wellKnownName?: string;
  isHidden: boolean;
}

export interface MessageRecord {
  /** Order of arrival in the tenant (ties of receivedDateTime, which has whole seconds). */
  ordinal: number;
  immutableId: string;
  restId: string;
  folderId: string;
  mime: Buffer;
  summary: MimeSummary;
  isRead: boolean;
  isDraft: boolean;
  flag: MicrosoftGraph.FollowupFlag;
  categories: string[];
  /** Single-value extended properties by lower-cased id. */
  extended: Map<string, { id: string; value: string }>;
  createdDateTime: string;
  lastModifiedDateTime: string;
  receivedDateTime: string;
  changeVersion: number;
  conversationId: string;
}

export interface ChangeEntry {
  seq: number;
  folderId: string;
  immutableId: string;
  /** The REST id the message had in this folder at that time. */
  restId: string;
  kind: 'added' | 'updated' | 'removed';
}

export interface MessageEvent {
  mailbox: Mailbox;
  changeType: MicrosoftGraph.ChangeType;
  folderId: string;
  immutableId: string;
  restId: string;
}

export interface SentRecord {
  mailbox: string;
  recipients: string[];
  mime: Buffer;
}

function b64id(prefix: string, bytes: number, suffix = ''): string {
  return prefix + randomBytes(bytes).toString('base64url') + suffix;
}

export const newFolderId = (): string => b64id('AQMkAD', 30, 'AAAA');
export const newRestId = (): string => b64id('AAMkAD', 36, 'AAA=');
export const newImmutableId = (): string => b64id('AAkALg', 36, 'AAA=');

export class Mailbox {
  readonly id = randomUUID();
  readonly folders = new Map<string, FolderRecord>();
  /** By immutable id. */
  readonly messages = new Map<string, MessageRecord>();
  /** REST id -> immutable id (only current REST ids). */
  readonly restIndex = new Map<string, string>();
  readonly log: ChangeEntry[] = [];
  seq = 0;
  /** Bumped to make every delta token issued before unusable (410 syncStateNotFound). */
  deltaEpoch = 1;
  readonly rootFolderId: string;

  constructor(
    readonly address: string,
    readonly displayName: string,
  ) {
    this.rootFolderId = newFolderId();
    this.folders.set(this.rootFolderId, { id: this.rootFolderId, displayName: 'Top of Information Store', parentFolderId: newFolderId(), wellKnownName: 'msgfolderroot', isHidden: false });
    for (const wk of WELL_KNOWN) {
      const id = newFolderId();
      this.folders.set(id, { id, displayName: wk.displayName, parentFolderId: this.rootFolderId, wellKnownName: wk.name, isHidden: wk.hidden ?? false });
    }
  }

  /** A folder by id or well-known name (case-insensitive), as Graph resolves path segments. */
  folder(ref: string): FolderRecord | undefined {
    const byId = this.folders.get(ref);
    if (byId !== undefined) return byId;
    const lower = ref.toLowerCase();
    for (const f of this.folders.values()) if (f.wellKnownName === lower) return f;
    return undefined;
  }

  wellKnown(name: string): FolderRecord {
    const f = this.folder(name);
    if (f === undefined) throw new Error(`no well-known folder ${name}`);
    return f;
  }

  children(parentId: string): FolderRecord[] {
    return [...this.folders.values()].filter((f) => f.parentFolderId === parentId);
  }

  /** A message by REST id or immutable id. */
  message(id: string): MessageRecord | undefined {
    return this.messages.get(id) ?? this.messages.get(this.restIndex.get(id) ?? '');
  }

  inFolder(folderId: string): MessageRecord[] {
    return [...this.messages.values()].filter((m) => m.folderId === folderId);
  }
}

export interface DeliverOptions {
  /** Folder id or well-known name; inbox by default. */
  folder?: string;
  isRead?: boolean;
  isDraft?: boolean;
  receivedDateTime?: Date;
}

export class EmulatorState extends EventEmitter<{ message: [MessageEvent] }> {
  readonly tenantId = randomUUID();
  readonly mailboxes = new Map<string, Mailbox>();
  /** Everything sent with sendMail, in order. */
  readonly sent: SentRecord[] = [];
  private ordinal = 0;

  addMailbox(address: string, displayName = address.split('@')[0]): Mailbox {
    const mb = new Mailbox(address, displayName);
    this.mailboxes.set(mb.id, mb);
    return mb;
  }

  /** By id (GUID) or address (userPrincipalName), case-insensitive like Graph. */
  mailbox(ref: string): Mailbox | undefined {
    const byId = this.mailboxes.get(ref);
    if (byId !== undefined) return byId;
    const lower = ref.toLowerCase();
    for (const mb of this.mailboxes.values()) if (mb.address.toLowerCase() === lower) return mb;
    return undefined;
  }

  private record(mb: Mailbox, msg: MessageRecord, kind: ChangeEntry['kind'], folderId = msg.folderId, restId = msg.restId): void {
    mb.seq += 1;
    mb.log.push({ seq: mb.seq, folderId, immutableId: msg.immutableId, restId, kind });
    const changeType: MicrosoftGraph.ChangeType = kind === 'added' ? 'created' : kind === 'updated' ? 'updated' : 'deleted';
    this.emit('message', { mailbox: mb, changeType, folderId, immutableId: msg.immutableId, restId });
  }

  /** New mail in a folder (arrival, create from MIME, a copy): a created change. */
  deliver(mb: Mailbox, mime: Buffer | string, opts: DeliverOptions = {}): MessageRecord {
    const folder = mb.folder(opts.folder ?? 'inbox');
    if (folder === undefined) throw new Error(`no folder ${opts.folder}`);
    const raw = typeof mime === 'string' ? Buffer.from(mime.replace(/\r?\n/g, '\r\n'), 'utf8') : mime;
    const summary = summarize(raw);
    const now = isoSeconds(new Date());
    const thread = summary.references[0] ?? summary.internetMessageId;
    this.ordinal += 1;
    const msg: MessageRecord = {
      ordinal: this.ordinal,
      immutableId: newImmutableId(),
      restId: newRestId(),
      folderId: folder.id,
      mime: raw,
      summary,
      isRead: opts.isRead ?? false,
      isDraft: opts.isDraft ?? false,
      flag: { flagStatus: 'notFlagged' },
      categories: [],
      extended: new Map(),
      createdDateTime: now,
      lastModifiedDateTime: now,
      receivedDateTime: isoSeconds(opts.receivedDateTime ?? new Date()),
      changeVersion: 1,
      conversationId: 'AAQkAD' + createHash('sha256').update(`${mb.id}${thread || randomUUID()}`).digest('base64url').slice(0, 32) + '=',
    };
    mb.messages.set(msg.immutableId, msg);
    mb.restIndex.set(msg.restId, msg.immutableId);
    this.record(mb, msg, 'added');
    return msg;
  }

  /** Any property change (isRead, flag, categories...): an updated change. */
  update(mb: Mailbox, msg: MessageRecord, change: (m: MessageRecord) => void): MessageRecord {
    change(msg);
    msg.changeVersion += 1;
    msg.lastModifiedDateTime = isoSeconds(new Date());
    this.record(mb, msg, 'updated');
    return msg;
  }

  /** Moves keep the immutable id and give a new REST id; the source folder sees a deletion. */
  move(mb: Mailbox, msg: MessageRecord, destFolderId: string): MessageRecord {
    if (msg.folderId === destFolderId) return msg;
    const oldFolder = msg.folderId;
    const oldRest = msg.restId;
    mb.restIndex.delete(oldRest);
    msg.restId = newRestId();
    msg.folderId = destFolderId;
    msg.changeVersion += 1;
    msg.lastModifiedDateTime = isoSeconds(new Date());
    mb.restIndex.set(msg.restId, msg.immutableId);
    this.record(mb, msg, 'removed', oldFolder, oldRest);
    this.record(mb, msg, 'added');
    return msg;
  }

  copy(mb: Mailbox, msg: MessageRecord, destFolderId: string): MessageRecord {
    const copy = this.deliver(mb, msg.mime, { folder: destFolderId, isRead: msg.isRead, isDraft: msg.isDraft, receivedDateTime: new Date(msg.receivedDateTime) });
    copy.flag = { ...msg.flag };
    copy.categories = [...msg.categories];
    for (const [k, v] of msg.extended) copy.extended.set(k, { ...v });
    return copy;
  }

  remove(mb: Mailbox, msg: MessageRecord): void {
    mb.messages.delete(msg.immutableId);
    mb.restIndex.delete(msg.restId);
    this.record(mb, msg, 'removed');
  }

  createFolder(mb: Mailbox, parentId: string, displayName: string, isHidden = false): FolderRecord {
    const f: FolderRecord = { id: newFolderId(), displayName, parentFolderId: parentId, isHidden };
    mb.folders.set(f.id, f);
    return f;
  }

  renameFolder(mb: Mailbox, folder: FolderRecord, displayName: string): FolderRecord {
    folder.displayName = displayName;
    void mb;
    return folder;
  }

  /** A folder and everything below it, messages included (each a deleted change). */
  deleteFolder(mb: Mailbox, folder: FolderRecord): void {
    for (const child of mb.children(folder.id)) this.deleteFolder(mb, child);
    for (const msg of mb.inFolder(folder.id)) this.remove(mb, msg);
    mb.folders.delete(folder.id);
  }

  /** Every delta token of the mailbox stops working (the next use answers 410). */
  invalidateDeltaTokens(mb: Mailbox): void {
    mb.deltaEpoch += 1;
  }
}
