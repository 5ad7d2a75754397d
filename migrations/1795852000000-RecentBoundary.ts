// \Recent (IMAP4rev1, RFC 3501 2.3.2): a message is recent for the one session that first
// sees it. Each mailbox keeps the first UID no session has claimed yet.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RecentBoundary1795852000000 implements MigrationInterface {
  name = 'RecentBoundary1795852000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailboxes ADD COLUMN first_recent_uid integer NOT NULL DEFAULT 1`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailboxes DROP COLUMN first_recent_uid`);
  }
}
