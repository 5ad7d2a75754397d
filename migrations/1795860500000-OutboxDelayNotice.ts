// RFC 3461 NOTIFY=DELAY: a message that waits in the outbox longer than the delay-notice
// time gets one "delayed" DSN; delay_reported says it was sent, so retries add no more.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class OutboxDelayNotice1795860500000 implements MigrationInterface {
  name = 'OutboxDelayNotice1795860500000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox ADD COLUMN delay_reported boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE outbox DROP COLUMN IF EXISTS delay_reported`);
  }
}
