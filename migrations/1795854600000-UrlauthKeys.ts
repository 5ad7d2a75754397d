// URLAUTH keys (RFC 4467): one per user and mailbox, encrypted with the master key. The
// row goes with its mailbox, so a recreated mailbox never validates an old URL.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UrlauthKeys1795854600000 implements MigrationInterface {
  name = 'UrlauthKeys1795854600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE urlauth_keys (
        mailbox_id bigint PRIMARY KEY REFERENCES mailboxes(id) ON DELETE CASCADE,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        key_sealed bytea NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX urlauth_keys_user_idx ON urlauth_keys (user_id)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE IF EXISTS urlauth_keys`);
  }
}
