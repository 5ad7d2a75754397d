// Push subscriptions and cross-process push deliveries in the store (migration
// PushSubscriptions). Only the process holding an account's lease writes its subscription
// rows; any process's push listener reads them to route a delivery, and queues the
// delivery here when the account is synced elsewhere.
import type { DataSource } from 'typeorm';
import { autocommit, type Sql } from './sql';

export type PushState = 'pending' | 'active' | 'lost' | 'failed';

export interface PushRow {
  id: string;
  accountId: string;
  /** '' for a subscription that covers the whole account. */
  folderId: string;
  token: string;
  secret: string;
  baseUrl: string;
  remoteId: string | null;
  state: PushState;
  expiresAt: Date | null;
  failures: number;
  retryAt: Date | null;
  renewedAt: Date | null;
  error: string | null;
}

export interface QueuedDelivery {
  subscriptionId: string;
  accountId: string;
  body: Buffer;
}

interface DbRow {
  id: string;
  account_id: string;
  folder_id: string;
  token: string;
  secret: string;
  base_url: string;
  remote_id: string | null;
  state: PushState;
  expires_at: Date | null;
  failures: number;
  retry_at: Date | null;
  renewed_at: Date | null;
  error: string | null;
}

const COLUMNS = 'id, account_id, folder_id, token, secret, base_url, remote_id, state, expires_at, failures, retry_at, renewed_at, error';

function toRow(r: DbRow): PushRow {
  return {
    id: String(r.id),
    accountId: String(r.account_id),
    folderId: r.folder_id,
    token: r.token,
    secret: r.secret,
    baseUrl: r.base_url,
    remoteId: r.remote_id,
    state: r.state,
    expiresAt: r.expires_at,
    failures: r.failures,
    retryAt: r.retry_at,
    renewedAt: r.renewed_at,
    error: r.error,
  };
}

export class PgPushStore {
  constructor(private readonly dataSource: DataSource) {}

  private run<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return autocommit(this.dataSource, work);
  }

  private async select(where: string, params: unknown[]): Promise<PushRow[]> {
    const rows = await this.run((sql) => sql.rows<DbRow>(`SELECT ${COLUMNS} FROM push_subscriptions WHERE ${where} ORDER BY id`, params));
    return rows.map(toRow);
  }

  forAccount(accountId: string): Promise<PushRow[]> {
    return this.select('account_id = $1', [accountId]);
  }

  async byId(id: string): Promise<PushRow | null> {
    return (await this.select('id = $1', [id]))[0] ?? null;
  }

  async byToken(token: string): Promise<PushRow | null> {
    return (await this.select('token = $1', [token]))[0] ?? null;
  }

  /** Subscriptions whose backend id is this (Gmail: the watched address, lower case). */
  byRemoteId(remoteId: string): Promise<PushRow[]> {
    return this.select(`remote_id = $1 AND state <> 'pending'`, [remoteId]);
  }

  /** A subscription about to be made: a fresh token and secret, replacing any earlier row. */
  async prepare(accountId: string, folderId: string, token: string, secret: string, baseUrl: string): Promise<PushRow> {
    const [row] = await this.run((sql) =>
      sql.rows<DbRow>(
        `INSERT INTO push_subscriptions (account_id, folder_id, token, secret, base_url) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (account_id, folder_id) DO UPDATE
            SET token = EXCLUDED.token, secret = EXCLUDED.secret, base_url = EXCLUDED.base_url,
                remote_id = NULL, state = 'pending', expires_at = NULL, created_at = now()
         RETURNING ${COLUMNS}`,
        [accountId, folderId, token, secret, baseUrl],
      ),
    );
    return toRow(row);
  }

  async activate(id: string, remoteId: string, expiresAt: Date): Promise<void> {
    await this.run((sql) =>
      sql.rows(
        `UPDATE push_subscriptions SET state = 'active', remote_id = $2, expires_at = $3, renewed_at = now(),
                failures = 0, error = NULL, retry_at = NULL WHERE id = $1`,
        [id, remoteId, expiresAt],
      ),
    );
  }

  async failed(id: string, error: string, retryAt: Date): Promise<void> {
    await this.run((sql) =>
      sql.rows(`UPDATE push_subscriptions SET state = 'failed', failures = failures + 1, error = $2, retry_at = $3 WHERE id = $1`, [id, error.slice(0, 500), retryAt]),
    );
  }

  async lost(id: string): Promise<void> {
    await this.run((sql) => sql.rows(`UPDATE push_subscriptions SET state = 'lost' WHERE id = $1`, [id]));
  }

  async remove(id: string): Promise<void> {
    await this.run((sql) => sql.rows('DELETE FROM push_subscriptions WHERE id = $1', [id]));
  }

  async pushed(id: string): Promise<void> {
    await this.run((sql) => sql.rows('UPDATE push_subscriptions SET last_push_at = now() WHERE id = $1', [id]));
  }

  /** Keeps a delivery for the process that holds the account (it drains them on its lease scan). */
  async queueDelivery(row: Pick<PushRow, 'id' | 'accountId'>, body: Buffer): Promise<void> {
    await this.run((sql) => sql.rows('INSERT INTO push_deliveries (subscription_id, account_id, body) VALUES ($1, $2, $3)', [row.id, row.accountId, body]));
  }

  /** Takes the queued deliveries of every account `owner` holds the lease of. */
  async takeDeliveries(owner: string): Promise<QueuedDelivery[]> {
    const rows = await this.run((sql) =>
      sql.rows<{ subscription_id: string; account_id: string; body: Buffer }>(
        `DELETE FROM push_deliveries d USING account_sync s
          WHERE s.account_id = d.account_id AND s.lease_owner = $1 AND s.lease_expires > now()
         RETURNING d.subscription_id, d.account_id, d.body`,
        [owner],
      ),
    );
    return rows.map((r) => ({ subscriptionId: String(r.subscription_id), accountId: String(r.account_id), body: r.body }));
  }

  /** Deliveries nobody took in time (the account had no holder): polling has caught up since. */
  async trimDeliveries(olderThanSeconds: number): Promise<void> {
    await this.run((sql) => sql.rows(`DELETE FROM push_deliveries WHERE received_at < now() - make_interval(secs => $1)`, [olderThanSeconds]));
  }
}
