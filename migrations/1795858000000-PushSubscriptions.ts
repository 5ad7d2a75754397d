// Push subscriptions of backend accounts (issues 4 and 5): what the sync engine asked a
// backend to notify memgate about (one row for the whole account, or one per folder), so
// that any process that takes the account over renews them instead of creating more; and
// push deliveries that reached a process which does not hold the account's lease, kept
// until the holder picks them up on its next lease scan.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class PushSubscriptions1795858000000 implements MigrationInterface {
  name = 'PushSubscriptions1795858000000';

  async up(q: QueryRunner): Promise<void> {
    // folder_id '' is the whole account. token: the secret path segment of the URL the
    // backend posts to; secret: what the backend echoes in each notification (clientState).
    // remote_id: the backend's subscription id (Graph) or watched address (Gmail).
    await q.query(`
      CREATE TABLE push_subscriptions (
        id bigserial PRIMARY KEY,
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        folder_id text NOT NULL DEFAULT '',
        token text NOT NULL UNIQUE,
        secret text NOT NULL,
        base_url text NOT NULL,
        remote_id text,
        state text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'active', 'lost', 'failed')),
        expires_at timestamptz,
        error text,
        failures integer NOT NULL DEFAULT 0,
        retry_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now(),
        renewed_at timestamptz,
        last_push_at timestamptz,
        UNIQUE (account_id, folder_id)
      )`);
    await q.query(`CREATE INDEX push_subscriptions_remote_idx ON push_subscriptions (remote_id)`);
    await q.query(`
      CREATE TABLE push_deliveries (
        id bigserial PRIMARY KEY,
        subscription_id bigint NOT NULL REFERENCES push_subscriptions(id) ON DELETE CASCADE,
        account_id bigint NOT NULL,
        body bytea NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX push_deliveries_account_idx ON push_deliveries (account_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS push_deliveries`);
    await q.query(`DROP TABLE IF EXISTS push_subscriptions`);
  }
}
