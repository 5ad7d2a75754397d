// The Microsoft Graph adapter (Exchange Online): mail folders with their child folders,
// per-folder message delta with the deltaLink as cursor and immutable ids (so a message
// keeps its id across moves), metadata first and MIME from $value on demand, write-back of
// flags, moves, copies, deletions, appends (append.ts: not a draft unless \Draft) and folder changes.
// A 410 on a delta token is answered with a full listing (a snapshot), which the engine
// reconciles by immutable id: every UID the client knows stays (invariant 1).
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
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
import { appendRequest } from './append';
import { GraphApi, graphCode, graphStatus, type BatchAnswer, type BatchMember } from './client';
import { createSubscription, deleteSubscription, graphPushSettings, parseNotifications, renewSubscription, type GraphPushSettings } from './push';
import { categoryKeyword, FLAG_PROPERTIES_EXPAND, flagPatch, graphOwnsFlag, graphSettings, HIDDEN_WELL_KNOWN, MESSAGE_SELECT, messageFlags, VERB_FLAGS, verbProperties, WELL_KNOWN, type GraphSettings } from './mapping';

export { graphSettings, type GraphSettings } from './mapping';
export { deviceCodeSignIn, DELEGATED_SCOPE } from './auth';

const IMMUTABLE = 'IdType="ImmutableId"';

type Page<T> = { value?: T[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string };
type DeltaItem = MicrosoftGraph.Message & { '@removed'?: { reason?: string } };

interface WellKnownIds {
  byId: Map<string, { specialUse: string | null; inbox?: boolean }>;
  hidden: Set<string>;
}

class GraphSession implements BackendSession {
  /** First delta pages fetched together by prefetchChanges, by folder, until changes() takes them. */
  private readonly prefetched = new Map<string, { cursor: string | null; answer: BatchAnswer }>();

  constructor(
    private readonly api: GraphApi,
    private readonly adapter: GraphAdapter,
  ) {}

  private get s(): GraphSettings {
    return this.api.settings;
  }

  private path(rest: string): string {
    return `${this.api.base}${rest}`;
  }

  async listFolders(): Promise<BackendFolder[]> {
    const known = await this.adapter.wellKnown(this.api);
    const out: BackendFolder[] = [];
    const all: MicrosoftGraph.MailFolder[] = [];
    const walk = async (url: string): Promise<void> => {
      const found: MicrosoftGraph.MailFolder[] = [];
      for (let next: string | undefined = url; next; ) {
        const page: Page<MicrosoftGraph.MailFolder> = await this.api.get(next);
        found.push(...(page.value ?? []));
        next = page['@odata.nextLink'];
      }
      all.push(...found);
      for (const f of found) if ((f.childFolderCount ?? 0) > 0 && f.id && !known.hidden.has(f.id)) await walk(this.path(`/mailFolders/${encodeURIComponent(f.id)}/childFolders?$top=100`));
    };
    await walk(this.path('/mailFolders?$top=100'));
    const ids = new Set(all.map((f) => f.id));
    for (const f of all) {
      if (!f.id || known.hidden.has(f.id)) continue;
      const wk = known.byId.get(f.id);
      out.push({
        id: f.id,
        name: f.displayName ?? f.id,
        parentId: f.parentFolderId && ids.has(f.parentFolderId) ? f.parentFolderId : null,
        specialUse: wk?.specialUse ?? null,
        inbox: wk?.inbox === true,
      });
    }
    return out;
  }

  async changes(folderId: string, cursor: string | null): Promise<ChangeSet> {
    try {
      const page = await this.deltaPage(folderId, cursor);
      const changes: BackendChange[] = [];
      for (const item of page.value ?? []) {
        if (!item.id) continue;
        if (item['@removed']) changes.push({ kind: 'deleted', folderId, id: item.id });
        else changes.push({ kind: 'created', folderId, message: listed(item) });
      }
      const next = page['@odata.nextLink'];
      if (next) return { kind: 'delta', changes, cursor: next, more: true };
      const delta = page['@odata.deltaLink'];
      if (!delta) throw new AdapterError('protocol', 'a delta page with neither nextLink nor deltaLink');
      return { kind: 'delta', changes, cursor: delta };
    } catch (err) {
      if (cursor !== null && (graphStatus(err) === 410 || graphCode(err) === 'syncStateNotFound')) {
        return this.fullListing(folderId, `the delta token was refused (${graphCode(err) ?? 410})`);
      }
      throw err;
    }
  }

  private deltaUrl(folderId: string, cursor: string | null): string {
    return cursor ?? this.path(`/mailFolders/${encodeURIComponent(folderId)}/messages/delta?$select=${MESSAGE_SELECT}&$expand=${FLAG_PROPERTIES_EXPAND}`);
  }

  private deltaPage(folderId: string, cursor: string | null): Promise<Page<DeltaItem>> {
    const pre = this.prefetched.get(folderId);
    this.prefetched.delete(folderId);
    // Anything but a page (a 410, an error) is asked again directly and handled as usual.
    if (pre && pre.cursor === cursor && pre.answer.status === 200) return Promise.resolve(pre.answer.body as Page<DeltaItem>);
    return this.api.get<Page<DeltaItem>>(this.deltaUrl(folderId, cursor), { Prefer: `${IMMUTABLE}, odata.maxpagesize=${this.s.pageSize}` });
  }

  /** The first delta page of each folder, 20 folders per $batch round trip instead of one each. */
  async prefetchChanges(folders: ReadonlyArray<{ folderId: string; cursor: string | null }>): Promise<void> {
    const root = `${this.s.graphUrl}/v1.0`;
    const members: BatchMember[] = [];
    const byMember = new Map<string, { folderId: string; cursor: string | null }>();
    for (const f of folders) {
      const url = this.deltaUrl(f.folderId, f.cursor);
      const relative = url.startsWith(`${root}/`) ? url.slice(root.length) : url.startsWith('/') ? url : null;
      if (relative === null) continue;
      const id = String(members.length);
      members.push({ id, method: 'GET', url: relative.replace(/ /g, '%20'), headers: { Prefer: `${IMMUTABLE}, odata.maxpagesize=${this.s.pageSize}` } });
      byMember.set(id, f);
    }
    if (members.length < 2) return;
    for (let i = 0; i < members.length; i += 20) {
      let answers: Map<string, BatchAnswer>;
      try {
        answers = await this.api.batch(members.slice(i, i + 20));
      } catch {
        return; // changes() asks each folder directly and meets the trouble there
      }
      for (const [id, answer] of answers) {
        const f = byMember.get(id);
        if (f) this.prefetched.set(f.folderId, { cursor: f.cursor, answer });
      }
    }
  }

  /** A delta round from scratch: every message in the folder, and a new deltaLink. */
  private async fullListing(folderId: string, reason: string): Promise<ChangeSet> {
    const messages = new Map<string, ListedMessage>();
    let cursor: string | null = null;
    for (;;) {
      const page = await this.deltaPage(folderId, cursor);
      for (const item of page.value ?? []) {
        if (!item.id) continue;
        if (item['@removed']) messages.delete(item.id);
        else messages.set(item.id, listed(item));
      }
      if (page['@odata.nextLink']) {
        cursor = page['@odata.nextLink'];
        continue;
      }
      return { kind: 'snapshot', folderId, messages: [...messages.values()], cursor: page['@odata.deltaLink'] ?? null, reason };
    }
  }

  async fetchRaw(_folderId: string, ids: readonly string[], onMessage: (id: string, raw: Buffer) => Promise<void>): Promise<void> {
    if (ids.length === 1) {
      await onMessage(ids[0], await this.api.getBytes(this.path(`/messages/${encodeURIComponent(ids[0])}/$value`)));
      return;
    }
    // $batch: up to 20 bodies per round trip; answers come back in the order asked for.
    for (let i = 0; i < ids.length; i += 20) {
      const chunk = ids.slice(i, i + 20);
      const answers = await this.api.batch(chunk.map((id, n) => ({ id: String(n), method: 'GET' as const, url: `${this.api.base}/messages/${encodeURIComponent(id)}/$value`, headers: { Prefer: IMMUTABLE } })));
      for (const [n, id] of chunk.entries()) {
        const a = answers.get(String(n));
        if (!a || a.status === 404) throw new AdapterError('gone', `message ${id} is no longer in the mailbox`);
        if (a.status !== 200) throw new AdapterError(a.status === 429 || a.status >= 500 ? 'unavailable' : 'protocol', `fetching message ${id} answered ${a.status}`);
        const raw = typeof a.body === 'string' ? Buffer.from(a.body, 'base64') : Buffer.from(JSON.stringify(a.body ?? ''), 'utf8');
        this.api.stats.bytesIn += raw.length;
        await onMessage(id, raw);
      }
    }
  }

  async apply(op: WriteBackOp): Promise<WriteBackResult | void> {
    const msg = (id: string): string => this.path(`/messages/${encodeURIComponent(id)}`);
    switch (op.kind) {
      case 'expunge':
        try {
          await this.api.delete(msg(op.id));
        } catch (err) {
          if (graphStatus(err) !== 404) throw err;
        }
        return;
      case 'flags':
        await this.patchFlags(op.id, op.add, op.remove, op.flags);
        return;
      case 'move':
      case 'copy': {
        const dest = op.toFolderId;
        const moved = await this.api.post<MicrosoftGraph.Message>(`${msg(op.id)}/${op.kind}`, { destinationId: dest }, { Prefer: IMMUTABLE });
        if (!moved.id) throw new AdapterError('protocol', `${op.kind} gave no id`);
        return { id: moved.id };
      }
      case 'append':
        return { id: await this.append(op.folderId, op.raw, op.flags, op.retry === true, op.internalDate) };
      case 'createFolder': {
        const url = op.parentId ? this.path(`/mailFolders/${encodeURIComponent(op.parentId)}/childFolders`) : this.path('/mailFolders');
        try {
          const f = await this.api.post<MicrosoftGraph.MailFolder>(url, { displayName: op.name });
          return { folderId: f.id! };
        } catch (err) {
          // Created by an earlier attempt (or at the backend meanwhile): the same folder.
          if (graphStatus(err) !== 409) throw err;
          const page = await this.api.get<Page<MicrosoftGraph.MailFolder>>(`${url}?$filter=displayName eq '${op.name.replace(/'/g, "''")}'`);
          const f = page.value?.[0];
          if (!f?.id) throw err;
          return { folderId: f.id };
        }
      }
      case 'renameFolder': {
        const url = this.path(`/mailFolders/${encodeURIComponent(op.folderId)}`);
        const current = await this.api.get<MicrosoftGraph.MailFolder>(`${url}?$select=id,displayName,parentFolderId`);
        const root = await this.adapter.rootId(this.api);
        const wantParent = op.parentId ?? root;
        if (current.parentFolderId !== wantParent) await this.api.post(`${url}/move`, { destinationId: wantParent });
        if (current.displayName !== op.name) await this.api.patch(url, { displayName: op.name });
        return;
      }
      case 'deleteFolder':
        try {
          await this.api.delete(this.path(`/mailFolders/${encodeURIComponent(op.folderId)}`));
        } catch (err) {
          if (graphStatus(err) !== 404) throw err;
        }
        return;
      default: {
        const never: never = op;
        throw new AdapterError('unsupported', `unknown write-back ${JSON.stringify(never)}`);
      }
    }
  }

  private async patchFlags(id: string, add: readonly string[], remove: readonly string[], all: readonly string[] | undefined): Promise<void> {
    const touched = new Set([...add, ...remove]);
    const owned = all ?? [...add];
    const full = flagPatch(owned, null);
    const patch: Record<string, unknown> = {};
    if (touched.has('\\Seen')) patch.isRead = full.isRead;
    if (touched.has('\\Flagged')) patch.flag = full.flag;
    if (VERB_FLAGS.some((f) => touched.has(f))) patch.singleValueExtendedProperties = verbProperties(owned, add, new Date());
    const isKeyword = (f: string): boolean => !f.startsWith('\\') && !VERB_FLAGS.includes(f);
    if ([...touched].some(isKeyword)) {
      const current = await this.api.get<MicrosoftGraph.Message>(this.path(`/messages/${encodeURIComponent(id)}?$select=categories`), { Prefer: IMMUTABLE });
      const keep = (current.categories ?? []).filter((c) => categoryKeyword(c) === null || (!remove.includes(c) && !owned.includes(c)));
      patch.categories = [...keep, ...owned.filter(isKeyword)];
    }
    if (Object.keys(patch).length === 0) return;
    try {
      await this.api.patch(this.path(`/messages/${encodeURIComponent(id)}`), patch, { Prefer: IMMUTABLE });
    } catch (err) {
      if (graphStatus(err) === 404) throw new AdapterError('gone', `message ${id} is no longer in the mailbox`, { cause: err });
      throw err;
    }
  }

  /** Created in the folder as append.ts decides, flags included; a retry first looks for an earlier copy. */
  private async append(folderId: string, raw: Buffer, flags: readonly string[], retry: boolean, internalDate?: Date): Promise<string> {
    const folder = this.path(`/mailFolders/${encodeURIComponent(folderId)}/messages`);
    const messageId = /^Message-ID:\s*(<[^>\r\n]+>)/im.exec(raw.subarray(0, 64 * 1024).toString('latin1'))?.[1];
    if (retry && messageId) {
      const page = await this.api.get<Page<MicrosoftGraph.Message>>(`${folder}?$filter=internetMessageId eq '${messageId.replace(/'/g, "''")}'&$select=id`, { Prefer: IMMUTABLE });
      const earlier = page.value?.[0]?.id;
      if (earlier) return earlier;
    }
    this.api.stats.bytesOut += raw.length;
    const request = appendRequest(raw, flags, internalDate);
    if (request.kind === 'json') {
      const created = await this.api.post<MicrosoftGraph.Message>(folder, request.body, { Prefer: IMMUTABLE });
      if (!created.id) throw new AdapterError('protocol', 'create gave no id');
      return created.id;
    }
    const created = await this.api.post<MicrosoftGraph.Message>(folder, request.body, { 'Content-Type': 'text/plain', Prefer: IMMUTABLE });
    if (!created.id) throw new AdapterError('protocol', 'create from MIME gave no id');
    // Created from MIME it is read; the client's flags decide.
    await this.api.patch(this.path(`/messages/${encodeURIComponent(created.id)}`), flagPatch(flags, flags.some((f) => !f.startsWith('\\')) ? [] : null), { Prefer: IMMUTABLE });
    return created.id;
  }

  async close(): Promise<void> {}

  abort(): void {}
}

function listed(item: MicrosoftGraph.Message): ListedMessage {
  // v1.0 has no size property: 0 means "not announced" (the engine fills it from the body).
  return { id: item.id!, size: 0, flags: messageFlags(item), ...(item.receivedDateTime ? { internalDate: new Date(item.receivedDateTime) } : {}) };
}

export class GraphAdapter implements BackendAdapter {
  readonly kind = 'graph';
  readonly capabilities: BackendCapabilities = {
    folders: true,
    labels: false,
    serverFlags: true,
    keywords: true,
    move: true,
    append: true,
    send: false,
    // Change notifications per folder (push.ts); off with the account setting push: false.
    push: true,
    pushScope: 'folder',
    changeCursors: true,
    delete: true,
    mirrorFolders: true,
  };
  readonly stats: TrafficStats = { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 };
  readonly ownsFlag = graphOwnsFlag;
  readonly settings: GraphSettings;
  private readonly pushSettings: GraphPushSettings;
  private api: GraphApi | null = null;
  private known: WellKnownIds | null = null;
  private root: string | null = null;

  constructor(private readonly account: AdapterAccount) {
    this.settings = graphSettings(account.settings);
    this.pushSettings = graphPushSettings(account.settings);
    this.capabilities.push = this.pushSettings.enabled;
  }

  private graph(): GraphApi {
    this.api ??= new GraphApi(this.settings, this.account.credentials, this.stats, this.account.saveCredentials);
    return this.api;
  }

  /** Sessions are cheap (HTTP); connecting makes sure a token can be had. */
  async connect(): Promise<BackendSession> {
    const api = this.graph();
    this.stats.connections++;
    await api.tokens.get();
    return new GraphSession(api, this);
  }

  async probe(): Promise<void> {
    const api = this.graph();
    await api.get(`${api.base}/mailFolders/inbox?$select=id`);
  }

  /** Well-known folder ids, resolved once with one $batch (v1.0 has no wellKnownName property). */
  async wellKnown(api: GraphApi): Promise<WellKnownIds> {
    if (this.known) return this.known;
    const names = [...WELL_KNOWN.map((w) => w.name), ...HIDDEN_WELL_KNOWN];
    const answers = await api.batch(names.map((name, i) => ({ id: String(i), method: 'GET' as const, url: `${api.base}/mailFolders/${name}?$select=id` })));
    const known: WellKnownIds = { byId: new Map(), hidden: new Set() };
    names.forEach((name, i) => {
      const a = answers.get(String(i));
      const id = a?.status === 200 ? (a.body as { id?: string }).id : undefined;
      if (!id) return;
      const wk = WELL_KNOWN.find((w) => w.name === name);
      if (wk) known.byId.set(id, { specialUse: wk.specialUse, inbox: wk.inbox });
      else known.hidden.add(id);
      if (name === 'msgfolderroot') this.root = id;
    });
    if (![...known.byId.values()].some((v) => v.inbox)) throw new AdapterError('unavailable', 'the inbox could not be resolved');
    this.known = known;
    return known;
  }

  subscribe(request: PushRequest): Promise<PushSubscription> {
    return createSubscription(this.graph(), this.pushSettings, this.settings.mailbox, request);
  }

  renew(subscription: PushSubscription, request: PushRequest): Promise<PushSubscription> {
    return renewSubscription(this.graph(), this.pushSettings, this.settings.mailbox, subscription, request);
  }

  unsubscribe(subscription: PushSubscription): Promise<void> {
    return deleteSubscription(this.graph(), subscription);
  }

  parsePush(body: Buffer, subscription: PushSubscription): PushTrigger | null {
    return parseNotifications(body, subscription);
  }

  async rootId(api: GraphApi): Promise<string> {
    if (!this.root) await this.wellKnown(api);
    return this.root ?? 'msgfolderroot';
  }

  dispose(): void {
    this.api?.dispose();
    this.api = null;
  }
}

export function createGraphAdapter(account: AdapterAccount): BackendAdapter {
  return new GraphAdapter(account);
}
