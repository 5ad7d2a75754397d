// One backend account in the process that holds its lease: polls it on its schedule,
// applies what the adapter reports, replays the write-back queue, fills the body cache
// newest first, and serves on-demand body fetches from its open session.
import { AdapterError, type AdapterFactory, type BackendAdapter, type BackendSession, type WriteBackOp } from '../../adapters/contract';
import { LeaseLostError, fingerprint, type BackendAccountRow, type BodyFingerprint, type PgBackendSync, type UncachedBody } from '../store/pg-backend-sync';
import { decryptCredentials, encryptCredentials } from './credentials';
import { syncCursorFolders } from './deltas';
import { mirrorFolders, pushFolderDeletes } from './mirror';
import { replayWriteBack } from './writeback';
import type { SyncOptions } from './engine';
import { nextAfterFailure, nextAfterSuccess } from './schedule';
import { PushKeeper, type PushHub } from './push';

export interface SyncLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

/** The single folder of backends without folders (POP3). */
const INBOX_FOLDER = 'INBOX';
/** A cursor backend's poll stops caching bodies after this long and polls again soon. */
const FILL_BUDGET_MS = 10_000;
/**
 * Body batches being stored while the next is fetched. The database's TOAST compression
 * of the bodies is the first sync's limit; two transactions let a database with more cores
 * compress two batches at once (on the 2-core bench machine one, two and three measured
 * alike or worse, bench/RESULTS.md).
 */
const STORES_IN_FLIGHT = 2;
/** Headers fetched ahead of bodies are stored this many at a time (newest first). */
const HEADER_BATCH = 100;
/** Above this many new ids in a poll that also lost ids, no bodies are fetched to match them. */
const MAX_REMATCH = 2000;
/** Bodies fetched to recognise messages are kept for storing up to this many bytes. */
const REMATCH_KEEP_BYTES = 64 * 1024 * 1024;

interface Demand {
  folderId: string;
  backendId: string;
  contentId: string;
  resolve: (raw: Buffer) => void;
  reject: (err: unknown) => void;
}

function adapterFor(
  row: BackendAccountRow,
  adapters: Readonly<Record<string, AdapterFactory>>,
  masterKey: Buffer,
  store: PgBackendSync,
  onSaved?: (sealed: Buffer) => void,
): BackendAdapter {
  const factory = adapters[row.kind];
  if (!factory) throw new AdapterError('unsupported', `no adapter for ${row.kind} accounts in this build`);
  if (!row.credentials) throw new AdapterError('auth', 'account has no stored credentials');
  return factory({
    id: row.id,
    settings: row.settings,
    credentials: decryptCredentials(masterKey, row.credentials),
    // Rotated refresh tokens: stored (encrypted) before the adapter uses them.
    saveCredentials: async (credentials) => {
      const sealed = encryptCredentials(masterKey, credentials);
      await store.saveCredentials(row.id, sealed);
      onSaved?.(sealed);
    },
  });
}

/** What an adapter was built from: a change means new credentials or settings were stored. */
function adapterSource(row: BackendAccountRow): string {
  return `${row.credentials?.toString('base64') ?? ''}|${JSON.stringify(row.settings)}`;
}

/** Is a backend id in this session's listing? A folder left out of `listed` did not change. */
function inListing(listed: Map<string, Set<string>>, folderId: string, backendId: string): boolean {
  return listed.get(folderId)?.has(backendId) ?? true;
}

export class AccountRunner {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = false;
  /** The session of the poll in progress; on-demand fetches queue for it. */
  private session: BackendSession | null = null;
  private polling = false;
  private demand: Demand[] = [];
  private adapter: BackendAdapter | null = null;
  /** What the adapter was built from (adapterSource), to notice credentials stored since. */
  private adapterSource = '';
  private again = false;
  /** Push: a targeted poll is wanted after the current one, for these folders (or all). */
  private againPush = false;
  private pushedFolders = new Set<string>();
  private pushedAll = false;
  /** Push subscriptions of this account (null: push is off in this process). */
  readonly push: PushKeeper | null;

  constructor(
    readonly accountId: string,
    private readonly owner: string,
    private readonly store: PgBackendSync,
    private readonly adapters: Readonly<Record<string, AdapterFactory>>,
    private readonly masterKey: Buffer,
    private readonly log: SyncLogger,
    private readonly options: SyncOptions,
    pushHub: PushHub | null = null,
  ) {
    this.push = pushHub
      ? new PushKeeper(
          {
            accountId,
            log,
            adapter: () => this.ensureAdapter(),
            folderIds: () => this.store.mirroredFolderIds(accountId),
            pushed: (folderIds) => this.pushed(folderIds),
            healthChanged: () => {
              // The poll interval follows the subscriptions' health from now on.
              if (!this.stopped) void this.store.account(accountId).then((row) => row && this.schedule(nextAfterSuccess(this.interval(row), this.options)));
            },
          },
          pushHub,
        )
      : null;
  }

  /** The account's poll interval; longer while push subscriptions are healthy. */
  private interval(row: BackendAccountRow): number {
    // At least the backend's least time between sessions (POP3 LOGIN-DELAY, RFC 2449 6.5).
    const own = Math.max(Number(row.settings.pollIntervalSeconds ?? this.options.defaultPollSeconds), this.adapter?.minSessionIntervalSeconds ?? 0);
    return this.push?.healthy ? Math.max(own, this.push.pollSeconds) : own;
  }

  private async ensureAdapter(): Promise<BackendAdapter> {
    if (this.adapter) return this.adapter;
    const row = await this.store.account(this.accountId);
    if (!row) throw new AdapterError('gone', 'the account was removed');
    return this.currentAdapter(row);
  }

  /**
   * The adapter for the account as stored now. Rebuilt when the stored credentials or
   * settings changed under it: a grant added again after "needs new credentials", or a
   * refresh token rotated by another holder (the submission Sender, another process), so
   * the account recovers without a restart. Its own rotations do not count as a change.
   */
  private currentAdapter(row: BackendAccountRow): BackendAdapter {
    const source = adapterSource(row);
    if (this.adapter && this.adapterSource !== source) {
      this.log.info({ accountId: this.accountId }, 'sync: stored credentials or settings changed, signing in again');
      this.adapter.dispose?.();
      this.adapter = null;
    }
    if (!this.adapter) {
      this.adapter = adapterFor(row, this.adapters, this.masterKey, this.store, (sealed) => {
        this.adapterSource = adapterSource({ ...row, credentials: sealed });
      });
      this.adapterSource = source;
    }
    return this.adapter;
  }

  /** A push delivery for this account (verified by the adapter before anything is synced). */
  onPush(subscriptionId: string, body: Buffer): void {
    void this.push?.onPush(subscriptionId, body).catch((err: unknown) => this.log.warn({ accountId: this.accountId, err }, 'push: handling a delivery failed'));
  }

  /** Syncs these folders now (all when empty), without listing folders; coalesced with any poll in progress. */
  pushed(folderIds: readonly string[]): void {
    if (this.stopped) return;
    if (folderIds.length === 0) this.pushedAll = true;
    for (const f of folderIds) this.pushedFolders.add(f);
    void this.run(true);
  }

  start(): void {
    void this.store.account(this.accountId).then(
      (row) => this.schedule(row ? row.next_run_at.getTime() - Date.now() : 0),
      () => this.schedule(0),
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    // Never sooner than the backend accepts a session (POP3 LOGIN-DELAY): it would be refused.
    const floor = this.adapter?.nextSessionInMs?.() ?? 0;
    this.timer = setTimeout(() => void this.pollNow(), Math.max(0, delayMs, floor));
  }

  pollNow(): Promise<void> {
    return this.run(false);
  }

  /** A full poll, or (`targeted`) the deltas of the folders pushes named. */
  private run(targeted: boolean): Promise<void> {
    if (this.running) {
      // A trigger during a poll (a push notification) must not be lost: one more follows.
      if (targeted) this.againPush = true;
      else this.again = true;
      return this.running;
    }
    if (!targeted && this.timer) clearTimeout(this.timer);
    // A full poll covers whatever pushes asked for so far.
    const targets = { all: this.pushedAll, folders: this.pushedFolders };
    this.pushedAll = false;
    this.pushedFolders = new Set();
    this.running = this.poll(targeted ? targets : null).finally(() => {
      this.running = null;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        this.againPush = false;
        void this.run(false);
      } else if (this.againPush) {
        this.againPush = false;
        void this.run(true);
      }
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.push?.stop();
    this.session?.abort();
    await this.running?.catch(() => undefined);
    this.adapter?.dispose?.();
    this.rejectDemand(new AdapterError('unavailable', 'sync stopped'));
  }

  /** A body wanted by a client now: served by the open session, or by a session of its own. */
  fetchOnDemand(folderId: string, backendId: string, contentId: string): Promise<Buffer> {
    if (!this.polling || this.stopped) {
      // Through this runner's adapter, so a backend's limits on sessions (LOGIN-DELAY) hold.
      return AccountRunner.fetchDetached(this.accountId, folderId, backendId, contentId, this.store, this.adapters, this.masterKey, this.adapter ?? undefined);
    }
    return new Promise((resolve, reject) => this.demand.push({ folderId, backendId, contentId, resolve, reject }));
  }

  /** One short session just for one body (an account this process does not poll). */
  static async fetchDetached(
    accountId: string,
    folderId: string,
    backendId: string,
    contentId: string,
    store: PgBackendSync,
    adapters: Readonly<Record<string, AdapterFactory>>,
    masterKey: Buffer,
    shared?: BackendAdapter,
  ): Promise<Buffer> {
    const row = await store.account(accountId);
    if (!row) throw new AdapterError('gone', 'the account of this message was removed');
    const adapter = shared ?? adapterFor(row, adapters, masterKey, store);
    const release = (): void => {
      if (!shared) adapter.dispose?.();
    };
    const session = await adapter.connect().catch((err: unknown) => {
      release();
      throw err;
    });
    try {
      let body: Buffer | null = null;
      let internalDate: Date | undefined;
      await session.fetchRaw(folderId, [backendId], async (_id, raw, info) => {
        body = raw;
        internalDate = info?.internalDate;
      });
      await session.close();
      if (!body) throw new AdapterError('gone', 'message not delivered');
      await store.storeBodies([{ contentId, raw: body, internalDate }]);
      return body;
    } catch (err) {
      session.abort();
      throw err;
    } finally {
      release();
    }
  }

  private rejectDemand(err: unknown): void {
    for (const d of this.demand.splice(0)) d.reject(err);
  }

  /** `targets`: a push-triggered poll of these folders only (no folder listing); null: a full poll. */
  private async poll(targets: { all: boolean; folders: Set<string> } | null = null): Promise<void> {
    if (this.stopped) return;
    const row = await this.store.account(this.accountId).catch(() => null);
    if (!row) return;
    this.polling = true;
    let session: BackendSession | null = null;
    try {
      if (row.state === 'new') await this.store.setState(this.accountId, this.owner, { state: 'syncing', reason: 'first sync' });
      const adapter = this.currentAdapter(row);
      const caps = adapter.capabilities;
      await this.store.setSyncCapabilities(this.accountId, caps.folders && caps.mirrorFolders === true, caps.serverFlags);
      session = await adapter.connect();
      this.session = session;
      let listed: Map<string, Set<string>> | null;
      let done: string[];
      const stopped = (): boolean => this.stopped;
      if (caps.changeCursors) {
        // Client changes first: what the backend reports afterwards includes them, so
        // their echoes match the shadow store and change nothing (invariant 5).
        const mirror = { accountId: this.accountId, store: this.store, session, log: this.log };
        const mirroring = caps.folders && caps.mirrorFolders && targets === null;
        if (mirroring) await mirrorFolders(mirror);
        done = await replayWriteBack({ accountId: this.accountId, store: this.store, adapter, session, log: this.log, listed: null, stopped });
        if (mirroring) await pushFolderDeletes(mirror);
        let folderIds = caps.folders ? await this.store.mirroredFolderIds(this.accountId) : [INBOX_FOLDER];
        if (targets && !targets.all) folderIds = folderIds.filter((f) => targets.folders.has(f));
        await syncCursorFolders({ accountId: this.accountId, owner: this.owner, store: this.store, adapter, session, log: this.log, stopped }, folderIds);
        listed = null;
      } else {
        listed = await this.syncFolders(session);
        done = await replayWriteBack({ accountId: this.accountId, store: this.store, adapter, session, log: this.log, listed, stopped });
      }
      const moreBodies = await this.fillBodies(session, listed);
      this.session = null;
      await session.close();
      session = null;
      await this.store.completeOps(done);
      // The interval as it is now (subscriptions may have become healthy during the poll).
      const next = nextAfterSuccess(this.interval(row), this.options);
      await this.store.setState(this.accountId, this.owner, {
        state: 'idle',
        reason: null,
        success: true,
        // A pushed poll leaves the next full poll where it was.
        ...(targets === null ? { nextRunAt: new Date(Date.now() + next) } : {}),
      });
      if (row.state === 'degraded' || row.state === 'auth') this.log.info({ accountId: this.accountId }, 'sync: account recovered');
      if (targets === null) {
        this.schedule(moreBodies ? 0 : next);
        // Subscriptions follow the folders just mirrored (and are renewed when due).
        void this.push?.maintain();
      } else if (moreBodies) {
        this.againPush = true;
      }
    } catch (err) {
      this.session = null;
      session?.abort();
      await this.failed(row, err);
    } finally {
      this.polling = false;
      // Whatever is still waiting gets a session of its own.
      for (const d of this.demand.splice(0)) {
        AccountRunner.fetchDetached(this.accountId, d.folderId, d.backendId, d.contentId, this.store, this.adapters, this.masterKey, this.adapter ?? undefined).then(d.resolve, d.reject);
      }
    }
  }

  private async failed(row: BackendAccountRow, err: unknown): Promise<void> {
    if (err instanceof LeaseLostError) {
      this.log.warn({ accountId: this.accountId }, 'sync: lease lost during a poll; nothing applied');
      this.stopped = true;
      return;
    }
    if (this.stopped) return;
    const adapterError = err instanceof AdapterError ? err : null;
    if (!adapterError) this.log.error({ err, accountId: this.accountId }, 'sync: poll failed unexpectedly');
    const state = adapterError?.kind === 'auth' ? 'auth' : 'degraded';
    const reason = adapterError
      ? adapterError.kind === 'auth'
        ? `needs new credentials: ${adapterError.message}`
        : adapterError.message
      : `internal error: ${err instanceof Error ? err.message : String(err)}`;
    const delay = nextAfterFailure(row.failures + 1, this.options, adapterError?.retryAfterSeconds ?? 0);
    this.log.warn({ accountId: this.accountId, reason, retryInMs: Math.round(delay) }, 'sync: account degraded');
    await this.store
      .setState(this.accountId, this.owner, { state, reason, failed: true, nextRunAt: new Date(Date.now() + delay) })
      .catch((e: unknown) => this.log.warn({ err: e }, 'sync: recording the failure failed'));
    this.schedule(delay);
  }

  /**
   * Reconciles each backend folder; returns the ids listed per folder (this session's view).
   * A folder whose listing did not change since the last one applied is left out.
   */
  private async syncFolders(session: BackendSession): Promise<Map<string, Set<string>>> {
    const adapter = this.adapter!;
    const folders = adapter.capabilities.folders ? (await session.listFolders()).map((f) => f.id) : [INBOX_FOLDER];
    const listed = new Map<string, Set<string>>();
    for (const folderId of folders) {
      const changes = await session.changes(folderId, await this.store.folderCursor(this.accountId, folderId));
      if (changes.kind === 'delta') {
        // Typed deltas (Graph, Gmail) are not applied yet; an empty one means "as before".
        if (changes.changes.length > 0) throw new AdapterError('unsupported', 'delta change sets are not applied yet');
        // Not in `listed`: the listing is the one the store holds (see inListing), so a
        // poll with nothing new reads no ids from the store.
        continue;
      }
      const known = await this.store.knownMessages(this.accountId, folderId);
      const knownIds = new Set(known.map((k) => k.backendId));
      listed.set(folderId, new Set(changes.messages.map((m) => m.id)));
      const ids = new Set(changes.messages.map((m) => m.id));
      // Ids that vanished while new ones appeared: fetch the new ones to recognise moved
      // or renumbered messages by their content (or, fetched by header only so far, by
      // their header and size), so their UIDs stay.
      const vanished = known.filter((k) => !ids.has(k.backendId));
      const recognisable = vanished.filter((k) => k.sha256 !== null || k.headerSha256 !== null);
      const toMatch = changes.messages.filter((m) => !knownIds.has(m.id)).map((m) => m.id);
      // Every id renumbered: all are fetched (otherwise every UID would be lost).
      const everyIdChanged = known.length > 0 && vanished.length === known.length;
      const bodies = new Map<string, Buffer>();
      const fingerprints = new Map<string, BodyFingerprint>();
      if (recognisable.length > 0 && toMatch.length > 0 && (everyIdChanged || toMatch.length <= MAX_REMATCH)) {
        const headerLengths = new Map<number, Set<number>>();
        for (const v of recognisable) {
          if (v.sha256 === null && v.size !== null && v.headerLength !== null) headerLengths.set(v.size, (headerLengths.get(v.size) ?? new Set()).add(v.headerLength));
        }
        let kept = 0;
        await session.fetchRaw(folderId, toMatch, async (id, raw) => {
          fingerprints.set(id, fingerprint(raw, headerLengths.get(raw.length)));
          // Bodies are kept (and stored with the new messages) up to a budget; the rest
          // is fetched again by the body fill.
          if (kept + raw.length <= REMATCH_KEEP_BYTES) {
            bodies.set(id, raw);
            kept += raw.length;
          }
        });
      }
      const result = await this.store.applySnapshot({ accountId: this.accountId, owner: this.owner, folderId, messages: changes.messages, bodies, fingerprints, cursor: changes.cursor });
      if (result.uidValidity) {
        this.log.warn(
          { accountId: this.accountId, folderId, from: result.uidValidity.from, to: result.uidValidity.to, unrecognised: result.uidValidity.unrecognised, rebound: result.rebound },
          'sync: the backend renumbered every message id and some messages could not be recognised (bodies not fetched yet): new UIDVALIDITY, every message has a new UID, clients resynchronise',
        );
      } else if (result.renumbered) {
        this.log.warn(
          { accountId: this.accountId, folderId, rebound: result.rebound, added: result.added.uids.length, expunged: result.expunged.uids.length },
          'sync: the backend renumbered every message id; messages were matched by content, UIDVALIDITY kept',
        );
      }
      if (result.added.uids.length > 0 || result.expunged.uids.length > 0 || result.rebound > 0) {
        this.log.info(
          { accountId: this.accountId, folderId, added: result.added.uids.length, expunged: result.expunged.uids.length, rebound: result.rebound },
          'sync: applied',
        );
      }
    }
    return listed;
  }

  /** Caches bodies not fetched yet, newest first, in batches; serves on-demand fetches first. */
  /** `listed` null: every present backend message (cursor backends). */
  private async fillBodies(session: BackendSession, listed: Map<string, Set<string>> | null): Promise<boolean> {
    let pending = await this.store.uncachedBodies(this.accountId, 1_000_000);
    if (pending.length > 0) {
      const present = listed ?? (await this.store.presentIds(this.accountId));
      const listedHere = listed ? (folderId: string, id: string) => inListing(listed, folderId, id) : (folderId: string, id: string) => present.get(folderId)?.has(id) === true;
      pending = pending.filter((b) => listedHere(b.folderId, b.backendId));
    }
    if (pending.length > this.options.bodyBatch && this.options.headersFirst > 0 && session.fetchHeaders) await this.fetchHeadersFirst(session, pending);
    const deadline = Date.now() + FILL_BUDGET_MS;
    // Batch k is stored while batch k+1 is fetched (the store and the backend work at once).
    const storing: Array<Promise<void>> = [];
    const stored = async (keep = 0): Promise<void> => {
      while (storing.length > keep) await storing.shift();
    };
    try {
      for (;;) {
        if (this.stopped) throw new AdapterError('unavailable', 'sync stopped');
        const wanted = this.demand.splice(0);
        if (wanted.length > 0) {
          await this.serveDemand(session, wanted, listed);
          continue;
        }
        if (pending.length === 0) {
          await stored();
          return false;
        }
        // Cursor backends: changes waiting (a push) or a long fill give way to a new poll soon.
        if (listed === null && (this.again || this.againPush || Date.now() > deadline)) {
          await stored();
          return true;
        }
        // One folder per batch: the next ones of the same folder, newest first.
        const folderId = pending[0].folderId;
        const batch: typeof pending = [];
        for (let i = 0; i < pending.length && batch.length < this.options.bodyBatch; i++) {
          if (pending[i].folderId === folderId) batch.push(pending[i]);
        }
        const taken = new Set(batch);
        const byId = new Map(batch.map((b) => [b.backendId, [b.contentId]]));
        // Labels (Gmail): the same backend message in other folders has the same body, so
        // one fetch serves every copy still waiting.
        if (this.adapter?.capabilities.labels) {
          for (const b of pending) {
            const copies = byId.get(b.backendId);
            if (copies && !taken.has(b)) {
              copies.push(b.contentId);
              taken.add(b);
            }
          }
        }
        pending = pending.filter((b) => !taken.has(b));
        const got: Array<{ contentId: string; raw: Buffer; internalDate?: Date }> = [];
        await session.fetchRaw(
          folderId,
          batch.map((b) => b.backendId),
          async (id, raw, info) => {
            for (const contentId of byId.get(id) ?? []) got.push({ contentId, raw, internalDate: info?.internalDate });
          },
        );
        await stored(STORES_IN_FLIGHT - 1);
        const next = this.storeFetched(got);
        next.catch(() => undefined); // awaited by stored(); no unhandled rejection meanwhile
        storing.push(next);
      }
    } finally {
      // A failed fetch still lets the batches before it land (each is valid on its own).
      await Promise.allSettled(storing);
    }
  }

  private async storeFetched(got: Array<{ contentId: string; raw: Buffer; internalDate?: Date }>): Promise<void> {
    const mismatched = await this.store.storeBodies(got);
    for (const m of mismatched) {
      if (m.headerDiffers) this.log.warn({ accountId: this.accountId, ...m }, 'sync: the body does not begin with the header fetched before it (clients may have seen that header)');
      else this.log.warn({ accountId: this.accountId, ...m }, 'sync: backend announced another size than it delivered');
    }
  }

  /**
   * A backlog of bodies (a first sync): the newest messages' headers come first, so that
   * a client's message list (ENVELOPE, header fields, SEARCH and SORT on them) fills in
   * before their bodies arrive. Stored every HEADER_BATCH, newest first.
   */
  private async fetchHeadersFirst(session: BackendSession, pending: readonly UncachedBody[]): Promise<void> {
    const wanted = pending.filter((p) => !p.hasHeader).slice(0, this.options.headersFirst);
    const byFolder = new Map<string, UncachedBody[]>();
    for (const p of wanted) byFolder.set(p.folderId, [...(byFolder.get(p.folderId) ?? []), p]);
    for (const [folderId, list] of byFolder) {
      const contentOf = new Map(list.map((p) => [p.backendId, p.contentId]));
      let got: Array<{ contentId: string; header: Buffer }> = [];
      try {
        await session.fetchHeaders!(
          folderId,
          list.map((p) => p.backendId),
          async (id, header) => {
            got.push({ contentId: contentOf.get(id)!, header });
            if (got.length >= HEADER_BATCH) {
              await this.store.storeHeaders(got);
              got = [];
            }
          },
        );
        await this.store.storeHeaders(got);
      } catch (err) {
        if (!(err instanceof AdapterError && err.kind === 'unsupported')) throw err;
        this.log.info({ accountId: this.accountId, reason: err.message }, 'sync: headers are not fetched ahead of bodies');
        return;
      }
    }
  }

  private async serveDemand(session: BackendSession, wanted: Demand[], listed: Map<string, Set<string>> | null): Promise<void> {
    for (const d of wanted) {
      if (listed && !inListing(listed, d.folderId, d.backendId)) {
        d.reject(new AdapterError('gone', 'the message is no longer on the mail server'));
        continue;
      }
      try {
        let body: Buffer | null = null;
        let internalDate: Date | undefined;
        await session.fetchRaw(d.folderId, [d.backendId], async (_id, raw, info) => {
          body = raw;
          internalDate = info?.internalDate;
        });
        await this.store.storeBodies([{ contentId: d.contentId, raw: body!, internalDate }]);
        d.resolve(body!);
      } catch (err) {
        d.reject(err);
        throw err;
      }
    }
  }
}
