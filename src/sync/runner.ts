// One backend account in the process that holds its lease: polls it on its schedule,
// applies what the adapter reports, replays the write-back queue, fills the body cache
// newest first, and serves on-demand body fetches from its open session.
import { AdapterError, type AdapterFactory, type BackendAdapter, type BackendSession, type WriteBackOp } from '../../adapters/contract';
import { LeaseLostError, type BackendAccountRow, type PgBackendSync } from '../store/pg-backend-sync';
import { decryptCredentials } from './credentials';
import type { SyncOptions } from './engine';
import { nextAfterFailure, nextAfterSuccess } from './schedule';

export interface SyncLogger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

/** The single folder of backends without folders (POP3). */
const INBOX_FOLDER = 'INBOX';
/** Above this many new ids in a poll that also lost ids, no bodies are fetched to match them. */
const MAX_REMATCH = 2000;

interface Demand {
  folderId: string;
  backendId: string;
  contentId: string;
  resolve: (raw: Buffer) => void;
  reject: (err: unknown) => void;
}

function adapterFor(row: BackendAccountRow, adapters: Readonly<Record<string, AdapterFactory>>, masterKey: Buffer): BackendAdapter {
  const factory = adapters[row.kind];
  if (!factory) throw new AdapterError('unsupported', `no adapter for ${row.kind} accounts in this build`);
  if (!row.credentials) throw new AdapterError('auth', 'account has no stored credentials');
  return factory({ id: row.id, settings: row.settings, credentials: decryptCredentials(masterKey, row.credentials) });
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

  constructor(
    readonly accountId: string,
    private readonly owner: string,
    private readonly store: PgBackendSync,
    private readonly adapters: Readonly<Record<string, AdapterFactory>>,
    private readonly masterKey: Buffer,
    private readonly log: SyncLogger,
    private readonly options: SyncOptions,
  ) {}

  start(): void {
    void this.store.account(this.accountId).then(
      (row) => this.schedule(row ? row.next_run_at.getTime() - Date.now() : 0),
      () => this.schedule(0),
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.pollNow(), Math.max(0, delayMs));
  }

  pollNow(): Promise<void> {
    if (this.running) return this.running;
    if (this.timer) clearTimeout(this.timer);
    this.running = this.poll().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.session?.abort();
    await this.running?.catch(() => undefined);
    this.rejectDemand(new AdapterError('unavailable', 'sync stopped'));
  }

  /** A body wanted by a client now: served by the open session, or by a session of its own. */
  fetchOnDemand(folderId: string, backendId: string, contentId: string): Promise<Buffer> {
    if (!this.polling || this.stopped) {
      return AccountRunner.fetchDetached(this.accountId, folderId, backendId, contentId, this.store, this.adapters, this.masterKey);
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
  ): Promise<Buffer> {
    const row = await store.account(accountId);
    if (!row) throw new AdapterError('gone', 'the account of this message was removed');
    const session = await adapterFor(row, adapters, masterKey).connect();
    try {
      let body: Buffer | null = null;
      await session.fetchRaw(folderId, [backendId], async (_id, raw) => {
        body = raw;
      });
      await session.close();
      if (!body) throw new AdapterError('gone', 'message not delivered');
      await store.storeBodies([{ contentId, raw: body }]);
      return body;
    } catch (err) {
      session.abort();
      throw err;
    }
  }

  private rejectDemand(err: unknown): void {
    for (const d of this.demand.splice(0)) d.reject(err);
  }

  private async poll(): Promise<void> {
    if (this.stopped) return;
    const row = await this.store.account(this.accountId).catch(() => null);
    if (!row) return;
    const interval = Number(row.settings.pollIntervalSeconds ?? this.options.defaultPollSeconds);
    this.polling = true;
    let session: BackendSession | null = null;
    try {
      if (row.state === 'new') await this.store.setState(this.accountId, this.owner, { state: 'syncing', reason: 'first sync' });
      this.adapter ??= adapterFor(row, this.adapters, this.masterKey);
      session = await this.adapter.connect();
      this.session = session;
      const listed = await this.syncFolders(session);
      const done = await this.writeBack(session, listed);
      await this.fillBodies(session, listed);
      this.session = null;
      await session.close();
      session = null;
      await this.store.completeOps(done);
      await this.store.setState(this.accountId, this.owner, {
        state: 'idle',
        reason: null,
        success: true,
        nextRunAt: new Date(Date.now() + nextAfterSuccess(interval, this.options)),
      });
      if (row.state === 'degraded' || row.state === 'auth') this.log.info({ accountId: this.accountId }, 'sync: account recovered');
      this.schedule(nextAfterSuccess(interval, this.options));
    } catch (err) {
      this.session = null;
      session?.abort();
      await this.failed(row, err);
    } finally {
      this.polling = false;
      // Whatever is still waiting gets a session of its own.
      for (const d of this.demand.splice(0)) {
        AccountRunner.fetchDetached(this.accountId, d.folderId, d.backendId, d.contentId, this.store, this.adapters, this.masterKey).then(d.resolve, d.reject);
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

  /** Reconciles each backend folder; returns the ids listed per folder (this session's view). */
  private async syncFolders(session: BackendSession): Promise<Map<string, Set<string>>> {
    const adapter = this.adapter!;
    const folders = adapter.capabilities.folders ? (await session.listFolders()).map((f) => f.id) : [INBOX_FOLDER];
    const listed = new Map<string, Set<string>>();
    for (const folderId of folders) {
      const changes = await session.changes(folderId, await this.store.folderCursor(this.accountId, folderId));
      const known = await this.store.knownMessages(this.accountId, folderId);
      const knownIds = new Set(known.map((k) => k.backendId));
      if (changes.kind === 'delta') {
        // Typed deltas (Graph, Gmail) are not applied yet; an empty one means "as before".
        if (changes.changes.length > 0) throw new AdapterError('unsupported', 'delta change sets are not applied yet');
        listed.set(folderId, knownIds);
        continue;
      }
      listed.set(folderId, new Set(changes.messages.map((m) => m.id)));
      const ids = new Set(changes.messages.map((m) => m.id));
      const vanishedWithContent = known.filter((k) => !ids.has(k.backendId) && k.sha256 !== null);
      const bodies = new Map<string, Buffer>();
      // Ids that vanished while new ones appeared: fetch the new ones to recognise moved
      // or renumbered messages by their content, so their UIDs stay.
      const toMatch = changes.messages.filter((m) => !knownIds.has(m.id)).map((m) => m.id);
      if (vanishedWithContent.length > 0 && toMatch.length > 0 && toMatch.length <= MAX_REMATCH) {
        await session.fetchRaw(folderId, toMatch, async (id, raw) => {
          bodies.set(id, raw);
        });
      }
      const result = await this.store.applySnapshot({ accountId: this.accountId, owner: this.owner, folderId, messages: changes.messages, bodies, cursor: changes.cursor });
      if (result.renumbered) {
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

  /** Replays queued client changes; returns the queue ids done (deleted after close()). */
  private async writeBack(session: BackendSession, listed: Map<string, Set<string>>): Promise<string[]> {
    const done: string[] = [];
    const ops = await this.store.pendingOps(this.accountId, 500);
    for (const queued of ops) {
      const op = queued.op as unknown as WriteBackOp;
      try {
        if (op.kind === 'expunge' && this.adapter!.capabilities.delete && listed.get(op.folderId)?.has(op.id)) {
          // Deleting at the backend must not lose a copy the client kept elsewhere.
          const contentId = await this.store.bodyNeededBeforeDelete(this.accountId, op.id);
          if (contentId) {
            await session.fetchRaw(op.folderId, [op.id], async (_id, raw) => {
              await this.store.storeBodies([{ contentId, raw }]);
            });
          }
        }
        await session.apply(op);
        done.push(queued.id);
      } catch (err) {
        if (err instanceof AdapterError && (err.kind === 'gone' || err.kind === 'unsupported')) {
          this.log.warn({ accountId: this.accountId, op: op.kind, err: err.message }, 'sync: write-back dropped');
          done.push(queued.id);
          continue;
        }
        const message = err instanceof Error ? err.message : String(err);
        await this.store.failOp(queued.id, message, Math.min(3600, 10 * 2 ** queued.attempts));
        throw err;
      }
    }
    return done;
  }

  /** Caches bodies not fetched yet, newest first, in batches; serves on-demand fetches first. */
  private async fillBodies(session: BackendSession, listed: Map<string, Set<string>>): Promise<void> {
    const pending = (await this.store.uncachedBodies(this.accountId, 1_000_000)).filter((b) => listed.get(b.folderId)?.has(b.backendId));
    let next = 0;
    for (;;) {
      if (this.stopped) throw new AdapterError('unavailable', 'sync stopped');
      const wanted = this.demand.splice(0);
      if (wanted.length > 0) {
        await this.serveDemand(session, wanted, listed);
        continue;
      }
      if (next >= pending.length) return;
      const batch = pending.slice(next, next + this.options.bodyBatch);
      next += batch.length;
      const byId = new Map(batch.map((b) => [b.backendId, b]));
      const got: Array<{ contentId: string; raw: Buffer }> = [];
      const folderId = batch[0].folderId;
      await session.fetchRaw(
        folderId,
        batch.filter((b) => b.folderId === folderId).map((b) => b.backendId),
        async (id, raw) => {
          got.push({ contentId: byId.get(id)!.contentId, raw });
        },
      );
      const mismatched = await this.store.storeBodies(got);
      for (const m of mismatched) this.log.warn({ accountId: this.accountId, ...m }, 'sync: backend announced another size than it delivered');
    }
  }

  private async serveDemand(session: BackendSession, wanted: Demand[], listed: Map<string, Set<string>>): Promise<void> {
    for (const d of wanted) {
      if (!listed.get(d.folderId)?.has(d.backendId)) {
        d.reject(new AdapterError('gone', 'the message is no longer on the mail server'));
        continue;
      }
      try {
        let body: Buffer | null = null;
        await session.fetchRaw(d.folderId, [d.backendId], async (_id, raw) => {
          body = raw;
        });
        await this.store.storeBodies([{ contentId: d.contentId, raw: body! }]);
        d.resolve(body!);
      } catch (err) {
        d.reject(err);
        throw err;
      }
    }
  }
}
