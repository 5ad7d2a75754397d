// Bodies not fetched yet are a handful of rows, even in an account of 100,000 messages:
// a partial index makes "which bodies are missing" (asked on every poll) cost nothing once
// everything is cached, instead of a join over every content of the account.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class UncachedBodies1795856300000 implements MigrationInterface {
  name = 'UncachedBodies1795856300000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX message_contents_uncached_idx ON message_contents (user_id) WHERE raw IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX IF EXISTS message_contents_uncached_idx`);
  }
}
