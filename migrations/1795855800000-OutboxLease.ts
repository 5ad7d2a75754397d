// The outbox claims a message with a lease instead of holding a row lock (and a database
// transaction) across the network send: lease_token names the process and attempt that
// holds it, next_attempt_at doubles as the lease's expiry while it is held (so the due
// index serves both), and remote_reply keeps the next hop's answer to the message.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OutboxLease1795855800000 implements MigrationInterface {
  name = 'OutboxLease1795855800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN lease_token text, ADD COLUMN remote_reply text`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS lease_token, DROP COLUMN IF EXISTS remote_reply`);
  }
}
