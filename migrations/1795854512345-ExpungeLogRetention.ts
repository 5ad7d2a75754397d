// QRESYNC (RFC 7162 3.2.5): the expunge log is kept for a configurable time, then trimmed.
// Each mailbox remembers the highest modseq it has forgotten (`expunge_log_floor`), so a
// client asking from below it is answered with every UID that may have vanished: RFC 7162
// allows reporting more expunged UIDs than happened, never fewer.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class ExpungeLogRetention1795854512345 implements MigrationInterface {
  name = 'ExpungeLogRetention1795854512345';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE expunge_log ADD COLUMN expunged_at timestamptz NOT NULL DEFAULT now()`);
    await q.query(`CREATE INDEX expunge_log_expunged_at_idx ON expunge_log (expunged_at)`);
    await q.query(`ALTER TABLE mailboxes ADD COLUMN expunge_log_floor bigint NOT NULL DEFAULT 0`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailboxes DROP COLUMN expunge_log_floor`);
    await q.query(`DROP INDEX expunge_log_expunged_at_idx`);
    await q.query(`ALTER TABLE expunge_log DROP COLUMN expunged_at`);
  }
}
