// The initial shadow-store schema. Every table carries user_id (design invariant 8), and
// deleting a user cascades to everything that user owns.
import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Initial1795851173526 implements MigrationInterface {
  name = 'Initial1795851173526';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE users (
        id bigserial PRIMARY KEY,
        name text NOT NULL,
        password_hash text NOT NULL,
        -- last UIDVALIDITY handed out to one of this user's mailboxes: each new mailbox
        -- gets max(this + 1, epoch seconds), so a recreated name never repeats one.
        last_uid_validity bigint NOT NULL DEFAULT 0,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE UNIQUE INDEX users_name_key ON users (lower(name))`);

    await q.query(`
      CREATE TABLE accounts (
        id bigserial PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        kind text NOT NULL CHECK (kind IN ('local', 'pop3', 'graph', 'gmail')),
        label text,
        is_primary boolean NOT NULL DEFAULT false,
        settings jsonb NOT NULL DEFAULT '{}'::jsonb,
        credentials bytea,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX accounts_user_idx ON accounts (user_id)`);
    await q.query(`CREATE UNIQUE INDEX accounts_one_primary ON accounts (user_id) WHERE is_primary`);

    await q.query(`
      CREATE TABLE mailboxes (
        id bigserial PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        account_id bigint NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
        name text NOT NULL,
        special_use text,
        uid_validity bigint NOT NULL CHECK (uid_validity BETWEEN 1 AND 4294967295),
        uid_next integer NOT NULL DEFAULT 1,
        highest_modseq bigint NOT NULL DEFAULT 1,
        backend_id text,
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT mailboxes_user_name_key UNIQUE (user_id, name)
      )`);
    await q.query(`CREATE INDEX mailboxes_account_idx ON mailboxes (account_id)`);

    // Invariant 2 asks for every UIDVALIDITY change to be logged with its reason.
    await q.query(`
      CREATE TABLE uid_validity_log (
        id bigserial PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        mailbox_id bigint,
        name text NOT NULL,
        uid_validity bigint NOT NULL,
        reason text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX uid_validity_log_user_idx ON uid_validity_log (user_id)`);

    await q.query(`
      CREATE TABLE message_contents (
        id bigserial PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        raw bytea NOT NULL,
        size integer NOT NULL,
        sha256 text NOT NULL,
        summary text,
        created_at timestamptz NOT NULL DEFAULT now()
      )`);
    await q.query(`CREATE INDEX message_contents_user_sha_idx ON message_contents (user_id, sha256)`);

    await q.query(`
      CREATE TABLE mailbox_messages (
        mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid integer NOT NULL,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        content_id bigint NOT NULL REFERENCES message_contents(id),
        modseq bigint NOT NULL,
        flags text[] NOT NULL DEFAULT '{}',
        internal_date timestamptz NOT NULL,
        size integer NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      )`);
    await q.query(`CREATE INDEX mailbox_messages_modseq_idx ON mailbox_messages (mailbox_id, modseq)`);
    await q.query(`CREATE INDEX mailbox_messages_content_idx ON mailbox_messages (content_id)`);

    await q.query(`
      CREATE TABLE expunge_log (
        mailbox_id bigint NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,
        uid integer NOT NULL,
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        modseq bigint NOT NULL,
        PRIMARY KEY (mailbox_id, uid)
      )`);
    await q.query(`CREATE INDEX expunge_log_modseq_idx ON expunge_log (mailbox_id, modseq)`);

    await q.query(`
      CREATE TABLE subscriptions (
        user_id bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
        name text NOT NULL,
        PRIMARY KEY (user_id, name)
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of [
      'subscriptions',
      'expunge_log',
      'mailbox_messages',
      'message_contents',
      'uid_validity_log',
      'mailboxes',
      'accounts',
      'users',
    ]) {
      await q.query(`DROP TABLE IF EXISTS ${table}`);
    }
  }
}
