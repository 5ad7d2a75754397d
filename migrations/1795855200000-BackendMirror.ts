// Backends with folders and change cursors (issue 4): backend ids per folder (a Gmail
// message carries several labels, each a folder), mirrored folders with the names both
// sides last agreed on, and write-back of every client change to a mirrored account's
// messages: flags, copies, moves and appends join expunges in the durable queue, written
// by triggers in the client's own transaction (invariant 5) so the IMAP layer stays unaware.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class BackendMirror1795855200000 implements MigrationInterface {
  name = 'BackendMirror1795855200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE backend_messages DROP CONSTRAINT backend_messages_pkey`);
    await q.query(`ALTER TABLE backend_messages ADD PRIMARY KEY (account_id, folder_id, backend_id)`);
    await q.query(`CREATE INDEX backend_messages_id_idx ON backend_messages (account_id, backend_id)`);

    // What the adapter declared, so that triggers know which changes to queue.
    await q.query(`ALTER TABLE account_sync ADD COLUMN mirror_folders boolean NOT NULL DEFAULT false`);
    await q.query(`ALTER TABLE account_sync ADD COLUMN server_flags boolean NOT NULL DEFAULT false`);
    // Push subscription state (opaque to the store) and the secret notifications must carry.
    await q.query(`ALTER TABLE account_sync ADD COLUMN push jsonb`);

    // One row per mirrored backend folder: the folder's path at the backend and the mailbox
    // name as both sides last agreed. A difference on one side is a change made there.
    // mailbox_id NULL: the client deleted the mailbox (to be deleted at the backend).
    await q.query(`
      CREATE TABLE backend_folders (
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        folder_id text NOT NULL,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        mailbox_id bigint REFERENCES mailboxes(id) ON DELETE SET NULL,
        backend_path text NOT NULL,
        mailbox_name text NOT NULL,
        PRIMARY KEY (account_id, folder_id)
      )`);

    // Ops queued by one transaction: a MOVE is a copy and an expunge in the same one.
    await q.query(`ALTER TABLE writeback_queue ADD COLUMN txid bigint NOT NULL DEFAULT txid_current()`);

    // Removal: as before, plus a MOVE (the copy queued by this transaction) becomes a move.
    await q.query(`
      CREATE OR REPLACE FUNCTION memgate_backend_message_removed() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        b backend_messages%ROWTYPE;
        moved bigint;
      BEGIN
        IF coalesce(current_setting('memgate.sync_apply', true), '') = 'on' THEN
          RETURN NULL;
        END IF;
        SELECT * INTO b FROM backend_messages WHERE mailbox_id = OLD.mailbox_id AND uid = OLD.uid;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;
        UPDATE writeback_queue SET op = op || jsonb_build_object('kind', 'move')
         WHERE id = (SELECT id FROM writeback_queue
                      WHERE account_id = b.account_id AND txid = txid_current() AND op->>'kind' = 'copy'
                        AND op->>'fromFolderId' = b.folder_id AND op->>'id' = b.backend_id
                      ORDER BY id DESC LIMIT 1)
        RETURNING id INTO moved;
        IF moved IS NOT NULL THEN
          DELETE FROM backend_messages WHERE account_id = b.account_id AND folder_id = b.folder_id AND backend_id = b.backend_id;
          RETURN NULL;
        END IF;
        UPDATE backend_messages SET state = 'hidden', uid = NULL
         WHERE account_id = b.account_id AND folder_id = b.folder_id AND backend_id = b.backend_id;
        INSERT INTO writeback_queue (user_id, account_id, op)
        VALUES (b.user_id, b.account_id, jsonb_build_object('kind', 'expunge', 'folderId', b.folder_id, 'id', b.backend_id));
        RETURN NULL;
      END
      $$`);

    // A message the client puts into a mirrored mailbox (APPEND, COPY, MOVE): a placeholder
    // backend row ('pending:<n>') and an append, or a copy of the backend message it came
    // from. The placeholder is replaced by the backend's id once the op is done. A mailbox
    // not created at the backend yet is 'mailbox:<id>' until it is.
    await q.query(`
      CREATE FUNCTION memgate_backend_message_added() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        dest record;
        src backend_messages%ROWTYPE;
        folder text;
        placeholder text;
      BEGIN
        IF coalesce(current_setting('memgate.sync_apply', true), '') = 'on' THEN
          RETURN NULL;
        END IF;
        SELECT m.account_id, m.backend_id, m.name, a.label INTO dest
          FROM mailboxes m JOIN account_sync s ON s.account_id = m.account_id JOIN accounts a ON a.id = m.account_id
         WHERE m.id = NEW.mailbox_id AND s.mirror_folders;
        IF NOT FOUND OR dest.name = dest.label THEN
          RETURN NULL;
        END IF;
        folder := coalesce(dest.backend_id, 'mailbox:' || NEW.mailbox_id);
        placeholder := 'pending:' || nextval('writeback_queue_id_seq');
        SELECT * INTO src FROM backend_messages
         WHERE account_id = dest.account_id AND content_id = NEW.content_id AND state = 'present'
           AND NOT (mailbox_id = NEW.mailbox_id AND uid = NEW.uid)
         ORDER BY (folder_id = folder) LIMIT 1;
        IF FOUND THEN
          INSERT INTO writeback_queue (user_id, account_id, op)
          VALUES (NEW.user_id, dest.account_id, jsonb_build_object('kind', 'copy', 'fromFolderId', src.folder_id,
                  'toFolderId', folder, 'id', src.backend_id, 'placeholder', placeholder));
        ELSE
          INSERT INTO writeback_queue (user_id, account_id, op)
          VALUES (NEW.user_id, dest.account_id, jsonb_build_object('kind', 'append', 'folderId', folder,
                  'placeholder', placeholder, 'contentId', NEW.content_id::text));
        END IF;
        INSERT INTO backend_messages (account_id, backend_id, user_id, folder_id, mailbox_id, uid, content_id, state)
        VALUES (dest.account_id, placeholder, NEW.user_id, folder, NEW.mailbox_id, NEW.uid, NEW.content_id, 'present');
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER mailbox_messages_backend_added AFTER INSERT ON mailbox_messages
        FOR EACH ROW EXECUTE FUNCTION memgate_backend_message_added()`);

    // STORE on a message of an account whose backend keeps flags.
    await q.query(`
      CREATE FUNCTION memgate_backend_flags_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        b backend_messages%ROWTYPE;
        added text[];
        removed text[];
      BEGIN
        IF coalesce(current_setting('memgate.sync_apply', true), '') = 'on' THEN
          RETURN NULL;
        END IF;
        added := ARRAY(SELECT unnest(NEW.flags) EXCEPT SELECT unnest(OLD.flags));
        removed := ARRAY(SELECT unnest(OLD.flags) EXCEPT SELECT unnest(NEW.flags));
        IF cardinality(added) = 0 AND cardinality(removed) = 0 THEN
          RETURN NULL;
        END IF;
        SELECT bm.* INTO b FROM backend_messages bm JOIN account_sync s ON s.account_id = bm.account_id
         WHERE bm.mailbox_id = NEW.mailbox_id AND bm.uid = NEW.uid AND s.server_flags;
        IF NOT FOUND THEN
          RETURN NULL;
        END IF;
        INSERT INTO writeback_queue (user_id, account_id, op)
        VALUES (b.user_id, b.account_id, jsonb_build_object('kind', 'flags', 'folderId', b.folder_id, 'id', b.backend_id,
                'add', to_jsonb(added), 'remove', to_jsonb(removed)));
        RETURN NULL;
      END
      $$`);
    await q.query(`
      CREATE TRIGGER mailbox_messages_backend_flags AFTER UPDATE OF flags ON mailbox_messages
        FOR EACH ROW EXECUTE FUNCTION memgate_backend_flags_changed()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS mailbox_messages_backend_flags ON mailbox_messages`);
    await q.query(`DROP FUNCTION IF EXISTS memgate_backend_flags_changed()`);
    await q.query(`DROP TRIGGER IF EXISTS mailbox_messages_backend_added ON mailbox_messages`);
    await q.query(`DROP FUNCTION IF EXISTS memgate_backend_message_added()`);
    // The removal trigger as BackendSync1795854000000 made it (before moves and txid).
    await q.query(`
      CREATE OR REPLACE FUNCTION memgate_backend_message_removed() RETURNS trigger LANGUAGE plpgsql AS $$
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
    await q.query(`ALTER TABLE writeback_queue DROP COLUMN txid`);
    await q.query(`DROP TABLE IF EXISTS backend_folders`);
    await q.query(`ALTER TABLE account_sync DROP COLUMN push`);
    await q.query(`ALTER TABLE account_sync DROP COLUMN server_flags`);
    await q.query(`ALTER TABLE account_sync DROP COLUMN mirror_folders`);
    await q.query(`DROP INDEX IF EXISTS backend_messages_id_idx`);
    await q.query(`ALTER TABLE backend_messages DROP CONSTRAINT backend_messages_pkey`);
    await q.query(`ALTER TABLE backend_messages ADD PRIMARY KEY (account_id, backend_id)`);
  }
}
