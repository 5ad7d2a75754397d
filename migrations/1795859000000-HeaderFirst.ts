// A backend message whose body is not fetched yet may have its header section already
// (POP3 TOP n 0): ENVELOPE, BODY[HEADER...], header SEARCH and SORT are answered from it
// before the body comes. It is cleared when the body is stored (the body starts with it).
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class HeaderFirst1795859000000 implements MigrationInterface {
  name = 'HeaderFirst1795859000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE message_contents ADD COLUMN header bytea`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE message_contents DROP COLUMN IF EXISTS header`);
  }
}
