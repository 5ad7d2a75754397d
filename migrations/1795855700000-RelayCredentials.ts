// SMTP relay credentials of an account (issue #7): the login a POP3 account's relay asks
// for, sealed with the master key like the backend credentials, and kept apart from them
// so that re-adding the backend login does not lose the relay's.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class RelayCredentials1795855700000 implements MigrationInterface {
  name = 'RelayCredentials1795855700000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts ADD COLUMN relay_credentials bytea`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE accounts DROP COLUMN IF EXISTS relay_credentials`);
  }
}
