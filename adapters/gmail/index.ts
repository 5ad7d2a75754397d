// The Gmail adapter: labels are folders (a message sits in the folder of each of its labels,
// with its Gmail message id as the backend id in every one), UNREAD/STARRED/DRAFT are flags,
// users.history.list from the saved historyId gives typed changes, a history id Gmail no
// longer knows (404) gives a snapshot the sync engine reconciles by message id, metadata
// comes first (batched) and raw MIME on demand. Client changes: writeback.ts.
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
  type PushRequest,
  type PushSubscription,
  type PushTrigger,
  type TrafficStats,
  type WriteBackOp,
  type WriteBackResult,
} from '../contract';
import { GmailClient, gmailCredentials, gmailSettings, type GmailSettings } from './client';
import { ALL_MAIL, decodePush, FLAG_LABEL_IDS, flagsOf, inFolder, labelsToFolders, PATH_PREFIX, planFolderDelta, type HistoryRecordIn } from './mapping';
import { REAL_CLOCK, type Clock, type QuotaBudget } from './quota';
import { GmailWriter } from './writeback';

export { ALL_MAIL } from './mapping';

/** Calls per batch request (Gmail allows 100; raw bodies are kept to smaller batches). */
const METADATA_BATCH = 100;
const RAW_BATCH = 20;
const LIST_PAGE = 500;
/** History pages a session keeps for the folders that have not read them yet. */
const HISTORY_PAGES_KEPT = 20;
/**
 * Known messages in a resynced folder from which their flags come from listing the flag
 * labels (UNREAD, STARRED, DRAFT: a few messages.list pages for the whole account, shared
 * by every folder of the session) rather than from their metadata (5 units each).
 */
const FLAG_LISTS_FROM = 10;

/** Flags Gmail keeps (as labels); every other flag lives in the shadow store. */
const OWNED_FLAGS = new Set(['\\seen', '\\flagged', '\\draft']);

interface Metadata {
  id: string;
  labelIds: string[];
  sizeEstimate: number;
  internalDate?: Date;
}

/** One page of history from a start id: its records and the cursor after it. */
type HistoryPage = { kind: 'page'; records: HistoryRecordIn[]; end: string; more: boolean } | { kind: 'gone' };

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
  /** History pages by their start id, shared by the folders of this session. */
  private readonly historyPages = new Map<string, Promise<HistoryPage>>();
  private profileHistoryId: string | null = null;
  /** Ids carrying each flag label, listed once per session for resyncs. */
  private flagLabelIds: Promise<Map<string, Set<string>>> | null = null;
  readonly writer: GmailWriter;

  constructor(
    readonly client: GmailClient,
    private readonly stats: TrafficStats,
  ) {
    this.writer = new GmailWriter(client, this.abortController.signal, stats, (id) => this.metadata.delete(id));
  }

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

  async changes(folderId: string, cursor: string | null, knownIds?: () => Promise<ReadonlySet<string>>): Promise<ChangeSet> {
    if (folderId.startsWith(PATH_PREFIX)) {
      // A level of the label hierarchy without a label: never holds messages.
      return cursor === null ? { kind: 'snapshot', folderId, messages: [], cursor: await this.currentHistoryId() } : { kind: 'delta', changes: [], cursor };
    }
    if (cursor === null) return this.snapshot(folderId, knownIds);
    const page = await this.historyPage(cursor);
    if (page.kind === 'gone') return this.snapshot(folderId, knownIds, 'the Gmail history id expired (404): full resync by message id');
    const plan = planFolderDelta(folderId, page.records);
    const meta = await this.fetchMetadata(plan.filter((p) => p.kind === 'created').map((p) => p.id));
    const changes: BackendChange[] = [];
    for (const p of plan) {
      switch (p.kind) {
        case 'created': {
          const m = meta.get(p.id);
          // Gone since, or out of the folder again after this page: later history says so.
          if (m && inFolder(folderId, m.labelIds)) changes.push({ kind: 'created', folderId, message: listed(m) });
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
    return { kind: 'delta', changes, cursor: page.end, ...(page.more ? { more: true } : {}) };
  }

  /**
   * Every message of the folder, oldest first (the order their UIDs should follow: the
   * listing's order reversed). No metadata is fetched for ids the gateway already shows
   * (only their flags are used) nor, with many of them, for new ids (a first sync): their
   * flags come from listing the flag labels, their size and date from the raw fetch (size
   * 0 and no date: the engine fills both in when the body comes, newest first), so a
   * folder is shown after its listing instead of after a metadata get (5 units) each. A
   * few new ids still get their metadata (arrivals are then shown complete).
   */
  private async snapshot(folderId: string, knownIds?: () => Promise<ReadonlySet<string>>, reason?: string): Promise<ChangeSet> {
    // The cursor is read before listing: changes during the listing come again as history.
    const cursor = await this.currentHistoryId();
    const ids = await this.listIds(folderId === ALL_MAIL ? [] : [folderId], folderId === 'SPAM' || folderId === 'TRASH');
    ids.reverse();
    const known = knownIds && ids.length > 0 ? await knownIds() : new Set<string>();
    const lacking = ids.filter((id) => !this.metadata.has(id));
    const knownHere = lacking.filter((id) => known.has(id));
    const fresh = lacking.filter((id) => !known.has(id));
    const listFirst = fresh.length >= FLAG_LISTS_FROM;
    const flagLists = listFirst || knownHere.length >= FLAG_LISTS_FROM || this.flagLabelIds !== null ? await this.flagLabels() : null;
    const meta = await this.fetchMetadata(flagLists ? (listFirst ? [] : ids.filter((id) => !known.has(id))) : ids);
    const messages: ListedMessage[] = [];
    for (const id of ids) {
      const m = meta.get(id) ?? this.metadata.get(id);
      if (m) {
        if (inFolder(folderId, m.labelIds)) messages.push(listed(m));
      } else if (flagLists && (known.has(id) || listFirst)) {
        // A known id: only its flags are used (contract: ChangeSet snapshot). A new one:
        // size unknown (0) until its body is fetched, and its date comes with that body.
        const labels = [...flagLists].filter(([, members]) => members.has(id)).map(([label]) => label);
        messages.push({ id, size: 0, flags: flagsOf(labels) });
      }
    }
    return { kind: 'snapshot', folderId, messages, cursor, ...(reason ? { reason } : {}) };
  }

  /** Every message id with all these labels (none: every message but spam and trash), newest first. */
  private async listIds(labelIds: string[], includeSpamTrash: boolean): Promise<string[]> {
    const ids: string[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.client.call(
        'messages.list',
        (signal) =>
          this.gmail.users.messages.list(
            { userId: 'me', maxResults: LIST_PAGE, pageToken, ...(labelIds.length > 0 ? { labelIds } : {}), includeSpamTrash },
            { signal },
          ),
        this.signal,
      );
      for (const m of res.messages ?? []) if (m.id) ids.push(m.id);
      pageToken = res.nextPageToken ?? undefined;
    } while (pageToken);
    return ids;
  }

  /** The ids carrying UNREAD, STARRED and DRAFT (spam and trash included), once per session. */
  private flagLabels(): Promise<Map<string, Set<string>>> {
    this.flagLabelIds ??= (async () => {
      const out = new Map<string, Set<string>>();
      for (const label of FLAG_LABEL_IDS) out.set(label, new Set(await this.listIds([label], true)));
      return out;
    })();
    this.flagLabelIds.catch(() => (this.flagLabelIds = null));
    return this.flagLabelIds;
  }

  private async currentHistoryId(): Promise<string> {
    if (this.profileHistoryId === null) this.profileHistoryId = (await this.profile()).historyId;
    if (!this.profileHistoryId) throw new AdapterError('protocol', 'Gmail profile without a historyId');
    return this.profileHistoryId;
  }

  /**
   * One page of history after `start`, fetched once per session for every folder (they
   * share the account's history id), so a poll with nothing new costs one history.list
   * (2 units). A page that is not the last ends at its last record's id: history.list
   * answers records after its startHistoryId, so that id is where the next page starts.
   */
  private historyPage(start: string): Promise<HistoryPage> {
    let page = this.historyPages.get(start);
    if (!page) {
      page = this.fetchHistoryPage(start);
      this.historyPages.set(start, page);
      if (this.historyPages.size > HISTORY_PAGES_KEPT) this.historyPages.delete(this.historyPages.keys().next().value!);
      page.catch(() => this.historyPages.delete(start));
    }
    return page;
  }

  private async fetchHistoryPage(start: string): Promise<HistoryPage> {
    toBig(start);
    try {
      const res = await this.client.call(
        'history.list',
        (signal) => this.gmail.users.history.list({ userId: 'me', startHistoryId: start, maxResults: this.client.settings.historyPageSize }, { signal }),
        this.signal,
      );
      const records = res.history ?? [];
      if (res.nextPageToken && records.length > 0) {
        const last = records[records.length - 1]!.id;
        if (last && toBig(last) > toBig(start)) return { kind: 'page', records, end: last, more: true };
      }
      return { kind: 'page', records, end: res.historyId ?? start, more: false };
    } catch (err) {
      // 404: the history id is older than Gmail keeps (about a week): resync by message id.
      if (err instanceof AdapterError && err.kind === 'gone') return { kind: 'gone' };
      throw err;
    }
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

  /** Calls per batch: so that one batch fits well inside a minute's budget. */
  private batchSize(max: number): number {
    return Math.max(1, Math.min(max, Math.floor(this.client.settings.unitsPerMinute / 5 / 4)));
  }

  /** Raw MIME, with Gmail's internalDate (a message listed without metadata gets its date here). */
  async fetchRaw(_folderId: string, ids: readonly string[], onMessage: (id: string, raw: Buffer, info?: { internalDate?: Date }) => Promise<void>): Promise<void> {
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
        const date = answers[k]?.internalDate;
        await onMessage(chunk[k]!, bytes, date && /^\d+$/.test(date) ? { internalDate: new Date(Number(date)) } : {});
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

  /** Applies one client change (writeback.ts); each is idempotent. */
  apply(op: WriteBackOp): Promise<WriteBackResult | void> {
    return this.writer.apply(op);
  }

  /** One flag change on many messages: users.messages.batchModify (50 units per 1000 ids). */
  applyFlags(targets: ReadonlyArray<{ folderId: string; id: string }>, add: readonly string[], remove: readonly string[]): Promise<void> {
    // A message shown in several folders (labels) is one Gmail message: once is enough.
    return this.writer.modifyMany([...new Set(targets.map((t) => t.id))], add, remove);
  }

  /** Sends a message as it is; Gmail files the copy in Sent itself. */
  send(raw: Buffer): Promise<string> {
    return this.writer.send(raw);
  }

  /** users.watch: Gmail posts to the Pub/Sub topic on every change until `expiration` (7 days). */
  async watch(topicName: string): Promise<{ historyId: string; expiration: Date }> {
    const res = await this.client.call('watch', (signal) => this.gmail.users.watch({ userId: 'me', requestBody: { topicName } }, { signal }), this.signal);
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

/** A watch lapses after 7 days; it is renewed daily, as Google recommends. */
const WATCH_RENEW_MS = 24 * 3600_000;

export class GmailAdapter implements BackendAdapter {
  readonly kind = 'gmail';
  readonly capabilities: BackendCapabilities;
  readonly stats: TrafficStats = { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 };
  readonly settings: GmailSettings;
  /** One client per adapter, so the access token and its refresh outlive a session. */
  readonly client: GmailClient;
  readonly ownsFlag = (flag: string): boolean => OWNED_FLAGS.has(flag.toLowerCase());

  constructor(account: AdapterAccount, opts: GmailAdapterOptions = {}) {
    this.settings = gmailSettings(account.settings);
    const credentials = gmailCredentials(account.credentials, this.settings);
    this.client = new GmailClient(this.settings, credentials, this.stats, opts.clock ?? REAL_CLOCK, opts.budget);
    this.capabilities = {
      folders: true,
      labels: true,
      serverFlags: true,
      keywords: false,
      move: true,
      append: true,
      send: true,
      // users.watch needs a Cloud Pub/Sub topic whose push subscription points at memgate.
      push: this.settings.pubsubTopic !== undefined,
      changeCursors: true,
      delete: true,
      commitOnClose: false,
      mirrorFolders: true,
    };
    // Google may hand out a new refresh token on refresh: keep it, or the next start fails.
    const save = account.saveCredentials;
    if (save && credentials.kind === 'grant') {
      this.client.auth.on('tokens', (tokens) => {
        if (tokens.refresh_token && tokens.refresh_token !== credentials.refreshToken) {
          credentials.refreshToken = tokens.refresh_token;
          save({ refreshToken: tokens.refresh_token, clientSecret: credentials.clientSecret }).catch(() => undefined);
        }
      });
    }
  }

  /** A session: makes sure there is a fresh access token (refreshing it before it expires). */
  async connect(): Promise<GmailSession> {
    await this.client.authenticate();
    this.stats.connections++;
    return new GmailSession(this.client, this.stats);
  }

  async probe(): Promise<void> {
    const session = await this.connect();
    try {
      const p = await session.profile();
      if (p.emailAddress.toLowerCase() !== this.settings.address.toLowerCase()) {
        throw new AdapterError('unsupported', `the Google grant is for ${p.emailAddress}, not ${this.settings.address}`);
      }
    } finally {
      session.abort();
    }
  }

  /**
   * users.watch on the configured topic. Where Gmail posts is the topic's push subscription
   * (set up in Google Cloud to `request.url`), not part of the call; the subscription id is
   * the account's address, which each push names.
   */
  async subscribe(request: PushRequest): Promise<PushSubscription> {
    const topic = this.settings.pubsubTopic;
    if (!topic) throw new AdapterError('unsupported', 'no Pub/Sub topic configured for Gmail push (setting pubsubTopic)');
    const session = await this.connect();
    try {
      const w = await session.watch(topic);
      const renewBy = Math.min(w.expiration.getTime(), Date.now() + WATCH_RENEW_MS);
      return { id: this.settings.address.toLowerCase(), expiresAt: new Date(renewBy), secret: request.secret };
    } finally {
      session.abort();
    }
  }

  /** Calling watch again renews it (and re-creates a lapsed one). */
  renew(_subscription: PushSubscription, request: PushRequest): Promise<PushSubscription> {
    return this.subscribe(request);
  }

  /** A Pub/Sub push for this account: sync every folder (Gmail says only "history moved"). */
  parsePush(body: Buffer, subscription: PushSubscription): PushTrigger | null {
    let json: unknown;
    try {
      json = JSON.parse(body.toString('utf8'));
    } catch {
      return null;
    }
    const push = decodePush(json);
    if (!push || push.emailAddress.toLowerCase() !== subscription.id) return null;
    return { folderIds: [] };
  }
}

export function createGmailAdapter(account: AdapterAccount): BackendAdapter {
  return new GmailAdapter(account);
}
