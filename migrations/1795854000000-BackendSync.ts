// Backend sync (issue 3): which backend message each shadow message is, the sync state and
// lease of every backend account, the durable write-back queue, and bodies not fetched yet.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class BackendSync1795854000000 implements MigrationInterface {
  name = 'BackendSync1795854000000';

  async up(q: QueryRunner): Promise<void> {
    // A backend message can be listed (size known) before its body is fetched.
    await q.query(`ALTER TABLE message_contents ALTER COLUMN raw DROP NOT NULL`);
    await q.query(`ALTER TABLE message_contents ALTER COLUMN sha256 DROP NOT NULL`);

    // One row per message the backend holds, keyed by its stable id (POP3: UIDL, plus a
    // content hash for duplicate UIDLs). 'present': shown at (mailbox_id, uid); 'hidden':
    // the client expunged or moved it, so a later listing must not show it again.
    await q.query(`
      CREATE TABLE backend_messages (
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        backend_id text NOT NULL,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        folder_id text NOT NULL,
        mailbox_id bigint REFERENCES mailboxes(id) ON DELETE SET NULL,
        uid integer,
        content_id bigint REFERENCES message_contents(id) ON DELETE SET NULL,
        state text NOT NULL CHECK (state IN ('present', 'hidden')),
        first_seen timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, backend_id)
      )`);
    await q.query(`CREATE UNIQUE INDEX backend_messages_uid_key ON backend_messages (mailbox_id, uid) WHERE uid IS NOT NULL`);
    await q.query(`CREATE INDEX backend_messages_content_idx ON backend_messages (content_id)`);
    await q.query(`CREATE INDEX backend_messages_user_idx ON backend_messages (user_id)`);

    // Sync state, lease and schedule of each backend account.
    await q.query(`
      CREATE TABLE account_sync (
        account_id bigint PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        state text NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'syncing', 'idle', 'degraded', 'auth')),
        reason text,
        cursor jsonb,
        failures integer NOT NULL DEFAULT 0,
        next_run_at timestamptz NOT NULL DEFAULT now(),
        lease_owner text,
        lease_expires timestamptz,
        last_success_at timestamptz,
        last_attempt_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      )`);

    // Client changes to replay to the backend. No foreign keys on purpose: rows are written
    // by a trigger that may fire while a user or account is being deleted in cascade; the
    // worker drops rows whose account is gone.
    await q.query(`
      CREATE TABLE writeback_queue (
        id bigserial PRIMARY KEY,
        user_id bigint NOT NULL,
        account_id bigint NOT NULL,
        op jsonb NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX writeback_queue_account_idx ON writeback_queue (account_id, id)`);

    // A shadow row of a backend message that goes away because of a client (EXPUNGE, MOVE,
    // DELETE of the mailbox) hides the backend message and queues the expunge, in the same
    // transaction as the client's change (invariant 5), without the IMAP layer knowing.
    // The sync engine's own removals set memgate.sync_apply and are not echoed back.
    await q.query(`
      CREATE FUNCTION memgate_backend_message_removed() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        b backend_messages%ROWTYPE;
      BEGIN
        IF coalesce(current_setting('memgate.sync_apply', true), '') = 'on' THEN
          RETURN NULL;
        END IF;
        UPDATE backend_messages SET state = 'hidden', uid = NULL
         WHERE mailbox_id = OLD.mailbox_id AND uid = OLD.uid
        RETURNING * INTO b;
        IF FOUND THEN
          INSERT INTO writeback_queue (user_id, account_id, op)
          VALUES (b.user_id, b.account_id,
                  jsonb_build_object('kind', 'expunge', 'folderId', b.folder_id, 'id', b.backend_id));
        END IF;
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER mailbox_messages_backend_removed AFTER DELETE ON mailbox_messages
        FOR EACH ROW EXECUTE FUNCTION memgate_backend_message_removed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS mailbox_messages_backend_removed ON mailbox_messages`);
    await q.query(`DROP FUNCTION IF EXISTS memgate_backend_message_removed()`);
    await q.query(`DROP TABLE IF EXISTS writeback_queue`);
    await q.query(`DROP TABLE IF EXISTS account_sync`);
    await q.query(`DROP TABLE IF EXISTS backend_messages`);
    await q.query(`DELETE FROM message_contents WHERE raw IS NULL`);
    await q.query(`ALTER TABLE message_contents ALTER COLUMN sha256 SET NOT NULL`);
    await q.query(`ALTER TABLE message_contents ALTER COLUMN raw SET NOT NULL`);
  }
}
