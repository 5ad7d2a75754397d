// The submission outbox (design invariant 7): a message is a row here before the client
// hears 250, and leaves the queue only in the transaction that records its outcome.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Outbox1795853100000 implements MigrationInterface {
  name = 'Outbox1795853100000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE outbox (
        id bigserial PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        mail_from text NOT NULL,
        -- [{ "address": ..., "notify": [...], "orcpt": ... }]
        recipients jsonb NOT NULL,
        dsn_ret text,
        dsn_envid text,
        -- the message; cleared once the outcome is recorded
        raw bytea,
        size integer NOT NULL,
        state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'sent', 'failed')),
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        give_up_at timestamptz NOT NULL,
        last_error text,
        -- a draft submitted by BURL: { "mailboxId": ..., "uid": ... } (RFC 5550 $SubmitPending)
        draft jsonb,
        -- the Sent copy is filed once, at the first attempt that reached any recipient
        copy_filed boolean NOT NULL DEFAULT false,
        created_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz
      )`);
    await q.query(`CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE state = 'queued'`);
    await q.query(`CREATE INDEX outbox_user_idx ON outbox (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS outbox`);
  }
}
