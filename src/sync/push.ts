// Push subscriptions of the accounts this process holds (issues 4 and 5). A PushKeeper per
// account runner creates the subscriptions its adapter can make (one for the account, or
// one per mirrored folder), renews them before they expire, makes them again when the
// backend lost them, and ends those of folders that went away. Their rows in the store
// let a process that takes an account over carry on with the same subscriptions.
// A delivery is only a hint: the adapter says which folders to sync and the runner runs
// their deltas at once, coalesced with any poll in progress, so duplicate, reordered or
// forged-but-verified notifications cost a delta at most and never change data. Polling
// stays on as the fallback, at a longer interval while every subscription is healthy.
import { randomBytes } from 'node:crypto';
import { AdapterError, type BackendAdapter, type PushRequest, type PushSubscription } from '../../adapters/contract';
import type { PgPushStore, PushRow } from '../store/push-subscriptions';
import type { SyncLogger } from './runner';

export interface PushSettings {
  /** Public base URL the backends post to; memgate's push listener serves it (through a proxy). */
  publicUrl: string;
  /** Poll interval while the account's subscriptions are healthy (its own interval when that is longer). */
  pollSeconds: number;
  /** Renew at most this long before expiry (a quarter of the lifetime when that is shorter). */
  renewMarginSeconds: number;
  /** First retry after a failed subscribe; doubles up to an hour. */
  retrySeconds: number;
}

export const DEFAULT_PUSH_SETTINGS: Omit<PushSettings, 'publicUrl'> = { pollSeconds: 900, renewMarginSeconds: 3600, retrySeconds: 30 };

/** Counters for status, tests and benchmarks. */
export interface PushStats {
  /** Deliveries handed to an adapter. */
  received: number;
  /** Deliveries the adapter did not recognise as genuine (ignored). */
  ignored: number;
  subscribed: number;
  renewed: number;
  failures: number;
}

/** What the process-wide push machinery shares with each account's keeper. */
export class PushHub {
  readonly stats: PushStats = { received: 0, ignored: 0, subscribed: 0, renewed: 0, failures: 0 };
  readonly settings: PushSettings;

  constructor(
    readonly store: PgPushStore,
    settings: PushSettings,
  ) {
    this.settings = { ...settings, publicUrl: settings.publicUrl.replace(/\/+$/, '') };
  }

  /** Where a subscription's notifications go. */
  url(token: string): string {
    return `${this.settings.publicUrl}/push/${token}`;
  }
}

/** What a keeper needs from its account runner. */
export interface KeeperHost {
  accountId: string;
  adapter(): Promise<BackendAdapter>;
  folderIds(): Promise<string[]>;
  /** Sync these folders now (all when empty). */
  pushed(folderIds: readonly string[]): void;
  /** Subscriptions became healthy or stopped being so (the poll interval follows). */
  healthChanged(healthy: boolean): void;
  log: SyncLogger;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function subscriptionOf(row: PushRow): PushSubscription {
  return { id: row.remoteId ?? '', expiresAt: row.expiresAt ?? new Date(0), secret: row.secret, ...(row.folderId ? { folderId: row.folderId } : {}) };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export class PushKeeper {
  private timer: NodeJS.Timeout | null = null;
  private working: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  /** The adapter cannot push: nothing to keep (checked once). */
  private unable = false;
  healthy = false;

  constructor(
    private readonly host: KeeperHost,
    private readonly hub: PushHub,
  ) {}

  /** The account's poll interval while healthy. */
  get pollSeconds(): number {
    return this.hub.settings.pollSeconds;
  }

  private get store(): PgPushStore {
    return this.hub.store;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Brings the subscriptions in line with the folders; serialised, coalesced. */
  maintain(): Promise<void> {
    if (this.stopped || this.unable) return Promise.resolve();
    if (this.working) {
      this.again = true;
      return this.working;
    }
    this.working = this.round()
      .catch((err: unknown) => this.host.log.warn({ accountId: this.host.accountId, err }, 'push: keeping subscriptions failed'))
      .finally(() => {
        this.working = null;
        if (this.again && !this.stopped) {
          this.again = false;
          void this.maintain();
        }
      });
    return this.working;
  }

  private async round(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const adapter = await this.host.adapter();
    const rows = await this.store.forAccount(this.host.accountId);
    if (!adapter.capabilities.push || !adapter.subscribe) {
      for (const row of rows) await this.store.remove(row.id);
      this.unable = true;
      this.setHealthy(false);
      return;
    }
    const wanted = adapter.capabilities.pushScope === 'folder' ? await this.host.folderIds() : [''];
    // No folders known (yet): nothing to watch, and nothing to end on a transient answer.
    if (wanted.length === 0) return;
    const wantedSet = new Set(wanted);
    for (const row of rows) {
      if (wantedSet.has(row.folderId) || this.stopped) continue;
      // The folder went away: its subscription is no use (Graph may have ended it already).
      if (row.remoteId && row.state === 'active') await adapter.unsubscribe?.(subscriptionOf(row)).catch(() => undefined);
      await this.store.remove(row.id);
    }
    const byFolder = new Map(rows.map((r) => [r.folderId, r]));
    const now = Date.now();
    for (const folderId of wanted) {
      if (this.stopped) return;
      const row = byFolder.get(folderId);
      if (!row || row.baseUrl !== this.hub.settings.publicUrl || row.state === 'pending' || row.state === 'lost' || (row.expiresAt?.getTime() ?? 0) <= now) {
        await this.create(adapter, folderId, row);
      } else if (row.state === 'failed') {
        if ((row.retryAt?.getTime() ?? 0) <= now) await this.create(adapter, folderId, row);
      } else if (renewAt(row, this.hub.settings) <= now) {
        await this.renew(adapter, row);
      }
    }
    const after = await this.store.forAccount(this.host.accountId);
    this.setHealthy(after.length === wanted.length && after.every((r) => r.state === 'active' && (r.expiresAt?.getTime() ?? 0) > Date.now()));
    this.scheduleNext(after);
  }

  private setHealthy(healthy: boolean): void {
    if (healthy === this.healthy) return;
    this.healthy = healthy;
    this.host.healthChanged(healthy);
  }

  private scheduleNext(rows: PushRow[]): void {
    if (this.stopped) return;
    let next = Infinity;
    for (const r of rows) {
      if (r.state === 'active') next = Math.min(next, renewAt(r, this.hub.settings));
      else if (r.state === 'failed') next = Math.min(next, r.retryAt?.getTime() ?? 0);
    }
    if (next === Infinity) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - Date.now()));
    this.timer = setTimeout(() => void this.maintain(), delay);
  }

  private request(row: Pick<PushRow, 'token' | 'secret' | 'folderId'>): PushRequest {
    return { url: this.hub.url(row.token), secret: row.secret, ...(row.folderId ? { folderId: row.folderId } : {}) };
  }

  /** A new subscription (new token and secret): the old one, if still there, is ended first. */
  private async create(adapter: BackendAdapter, folderId: string, old: PushRow | undefined): Promise<void> {
    if (old?.remoteId && old.state === 'active') await adapter.unsubscribe?.(subscriptionOf(old)).catch(() => undefined);
    const row = await this.store.prepare(this.host.accountId, folderId, randomBytes(24).toString('base64url'), randomBytes(24).toString('base64url'), this.hub.settings.publicUrl);
    try {
      const sub = await adapter.subscribe!(this.request(row));
      await this.store.activate(row.id, sub.id, sub.expiresAt);
      this.hub.stats.subscribed++;
      this.host.log.info({ accountId: this.host.accountId, folderId: folderId || undefined, expiresAt: sub.expiresAt }, 'push: subscribed');
      // Changes made before the subscription existed: one delta catches them up.
      this.host.pushed(folderId ? [folderId] : []);
    } catch (err) {
      await this.failed(row, err);
    }
  }

  private async renew(adapter: BackendAdapter, row: PushRow): Promise<void> {
    try {
      const sub = adapter.renew ? await adapter.renew(subscriptionOf(row), this.request(row)) : await adapter.subscribe!(this.request(row));
      await this.store.activate(row.id, sub.id, sub.expiresAt);
      this.hub.stats.renewed++;
      this.host.log.debug({ accountId: this.host.accountId, folderId: row.folderId || undefined, expiresAt: sub.expiresAt }, 'push: renewed');
      // Made again because the backend had lost it: changes may have been missed meanwhile.
      if (sub.id !== row.remoteId) this.host.pushed(row.folderId ? [row.folderId] : []);
    } catch (err) {
      await this.failed(row, err);
    }
  }

  private async failed(row: PushRow, err: unknown): Promise<void> {
    this.hub.stats.failures++;
    const delay = Math.min(3600, this.hub.settings.retrySeconds * 2 ** Math.min(row.failures, 16));
    const retry = err instanceof AdapterError && err.retryAfterSeconds ? Math.max(delay, err.retryAfterSeconds) : delay;
    this.host.log.warn({ accountId: this.host.accountId, folderId: row.folderId || undefined, err: message(err), retryInSeconds: retry }, 'push: subscription failed; polling continues');
    await this.store.failed(row.id, message(err), new Date(Date.now() + retry * 1000));
  }

  /** One delivery for this account (from the listener here or from another process). */
  async onPush(subscriptionId: string, body: Buffer): Promise<void> {
    const row = await this.store.byId(subscriptionId);
    if (!row || row.accountId !== this.host.accountId || !row.remoteId) return;
    const adapter = await this.host.adapter();
    const trigger = adapter.parsePush?.(body, subscriptionOf(row)) ?? null;
    if (!trigger) {
      this.hub.stats.ignored++;
      this.host.log.warn({ accountId: this.host.accountId, folderId: row.folderId || undefined }, 'push: a delivery that did not verify was ignored');
      return;
    }
    this.hub.stats.received++;
    this.host.pushed(trigger.folderIds);
    void this.store.pushed(row.id).catch(() => undefined);
    if (trigger.subscription === 'recreate') {
      this.host.log.info({ accountId: this.host.accountId, folderId: row.folderId || undefined }, 'push: the backend removed the subscription; making it again');
      await this.store.lost(row.id);
      void this.maintain();
    } else if (trigger.subscription === 'renew') {
      await this.renew(adapter, row);
    }
  }
}

/** When a subscription is renewed: a margin before expiry, at most a quarter of its lifetime. */
export function renewAt(row: Pick<PushRow, 'expiresAt' | 'renewedAt'>, s: Pick<PushSettings, 'renewMarginSeconds'>): number {
  const expires = row.expiresAt?.getTime() ?? 0;
  const lifetime = Math.max(0, expires - (row.renewedAt?.getTime() ?? expires));
  return expires - Math.min(s.renewMarginSeconds * 1000, lifetime / 4);
}
