// A mailbox that only holds other mailboxes (RFC 9051 \Noselect): a level of a backend's
// hierarchy that is not a folder itself, such as "a" and "a/b" of a Gmail label "a/b/c"
// when Gmail has no label "a" or "a/b". LIST shows it with \Noselect; it cannot be
// selected and takes no messages.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class NoSelectMailboxes1795858600000 implements MigrationInterface {
  name = 'NoSelectMailboxes1795858600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailboxes ADD COLUMN no_select boolean NOT NULL DEFAULT false`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE mailboxes DROP COLUMN no_select`);
  }
}
