// The sync engine shared by every backend: leases in Postgres decide which process syncs
// which account; each held account has its own runner (timer, backoff, session), so one
// slow or broken account never delays another (invariant 6).
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { AdapterFactory } from '../../adapters/contract';
import { UnavailableError } from '../core/errors';
import type { PgBackendSync } from '../store/pg-backend-sync';
import type { BodyFetcher } from '../store/body-cache';
import { AccountRunner, type SyncLogger } from './runner';
import { DEFAULT_SCHEDULE, type ScheduleOptions } from './schedule';
import type { PushHub } from './push';

export interface SyncOptions extends ScheduleOptions {
  /** Lease length; another process takes an account over this long after its holder died. */
  leaseSeconds: number;
  /** How often leases are claimed and renewed (new accounts are noticed this fast). */
  scanMs: number;
  defaultPollSeconds: number;
  /** Bodies fetched per store transaction during the first sync. */
  bodyBatch: number;
  /**
   * With more than one batch of bodies waiting, the headers of this many of the newest
   * messages are fetched first (where the adapter can: POP3 TOP), so message lists fill
   * in before the bodies come. 0: bodies only.
   */
  headersFirst: number;
  /** On-demand body fetches give up after this (NO [UNAVAILABLE]). */
  bodyFetchTimeoutMs: number;
}

export const DEFAULT_SYNC_OPTIONS: SyncOptions = {
  ...DEFAULT_SCHEDULE,
  leaseSeconds: 30,
  scanMs: 1000,
  defaultPollSeconds: 60,
  bodyBatch: 50,
  headersFirst: 500,
  bodyFetchTimeoutMs: 30000,
};

export class SyncEngine implements BodyFetcher {
  readonly owner = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly runners = new Map<string, AccountRunner>();
  private scanTimer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private stopped = false;
  private scans = 0;
  readonly options: SyncOptions;

  constructor(
    private readonly store: PgBackendSync,
    private readonly adapters: Readonly<Record<string, AdapterFactory>>,
    private readonly masterKey: Buffer,
    private readonly log: SyncLogger,
    options: Partial<SyncOptions> = {},
    /** Push subscriptions and deliveries; null: push is off (no public URL), polling only. */
    readonly push: PushHub | null = null,
  ) {
    this.options = { ...DEFAULT_SYNC_OPTIONS, ...options };
  }

  start(): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.scanning = this.scan().finally(() => {
        this.scanning = null;
        if (!this.stopped) this.scanTimer = setTimeout(tick, this.options.scanMs);
      });
    };
    tick();
  }

  /** Claims free and expired leases, renews ours, starts and stops runners to match. */
  private async scan(): Promise<void> {
    let held: string[];
    try {
      held = await this.store.claimLeases(this.owner, this.options.leaseSeconds);
    } catch (err) {
      this.log.warn({ err }, 'sync: claiming leases failed');
      return;
    }
    if (this.stopped) return;
    const heldSet = new Set(held);
    for (const [id, runner] of this.runners) {
      if (!heldSet.has(id)) {
        this.log.info({ accountId: id }, 'sync: lease lost, stopping account');
        this.runners.delete(id);
        void runner.stop();
      }
    }
    for (const id of held) {
      if (this.runners.has(id)) continue;
      const runner = new AccountRunner(id, this.owner, this.store, this.adapters, this.masterKey, this.log, this.options, this.push);
      this.runners.set(id, runner);
      this.log.info({ accountId: id }, 'sync: account leased');
      runner.start();
    }
    if (this.push) await this.takePushDeliveries(this.push);
  }

  /**
   * Deliveries that reached another process's push listener for accounts held here: that
   * process queued them in the store; they are taken on each lease scan (scanMs).
   */
  private async takePushDeliveries(push: PushHub): Promise<void> {
    try {
      for (const d of await push.store.takeDeliveries(this.owner)) this.runners.get(d.accountId)?.onPush(d.subscriptionId, d.body);
      // Deliveries for accounts nobody held: polling has caught up with them since.
      if (++this.scans % 600 === 0) await push.store.trimDeliveries(600);
    } catch (err) {
      this.log.warn({ err }, 'push: taking queued deliveries failed');
    }
  }

  /** A push delivery: handled at once when this process holds the account; false otherwise. */
  deliverPush(accountId: string, subscriptionId: string, body: Buffer): boolean {
    const runner = this.runners.get(accountId);
    if (!runner?.push) return false;
    runner.onPush(subscriptionId, body);
    return true;
  }

  /** Ends every runner (an open backend session is dropped uncommitted) and frees the leases. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.scanTimer) clearTimeout(this.scanTimer);
    await this.scanning?.catch(() => undefined);
    await Promise.all([...this.runners.values()].map((r) => r.stop()));
    this.runners.clear();
    await this.store.releaseLeases(this.owner).catch(() => undefined);
  }

  /** Polls an account at once if this process holds it (tests, `account sync`). */
  pollNow(accountId: string): Promise<void> | null {
    return this.runners.get(accountId)?.pollNow() ?? null;
  }

  async fetchBody(userId: string, contentId: string): Promise<Buffer | null> {
    const cached = await this.store.cachedBody(contentId);
    if (cached) return cached;
    const origin = await this.store.contentOrigin(userId, contentId);
    if (!origin) return null;
    const runner = this.runners.get(origin.accountId);
    const work = runner
      ? runner.fetchOnDemand(origin.folderId, origin.backendId, contentId)
      : AccountRunner.fetchDetached(origin.accountId, origin.folderId, origin.backendId, contentId, this.store, this.adapters, this.masterKey);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new UnavailableError('The mail server did not deliver the message body in time')), this.options.bodyFetchTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      throw new UnavailableError(`The mail server is unavailable: ${err instanceof Error ? err.message : String(err)}`, err);
    } finally {
      clearTimeout(timer);
    }
  }
}
