// URLAUTH keys at rest: 32 random bytes per user and mailbox, sealed with the master key
// (AES-256-GCM, the same sealing as backend credentials).
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import type { UrlauthKeys } from '../imap/urlauth/keys';
import { decryptCredentials, encryptCredentials } from '../sync/credentials';
import { autocommit, parseId, type Sql } from './sql';
import { findUser } from './users';

export class PgUrlauthKeys implements UrlauthKeys {
  constructor(
    private readonly dataSource: DataSource,
    private readonly masterKey: Buffer,
  ) {}

  private read<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return autocommit(this.dataSource, work);
  }

  async key(userId: string, mailboxId: string): Promise<Buffer> {
    const uid = parseId(userId);
    const mid = parseId(mailboxId);
    if (!uid || !mid) throw new Error('invalid id');
    const sealed = encryptCredentials(this.masterKey, { key: randomBytes(32).toString('hex') });
    // Insert-or-keep in one statement: two sessions asking at once get the same key.
    const rows = await this.read((sql) =>
      sql.rows<{ key_sealed: Buffer }>(
        `WITH ins AS (
           INSERT INTO urlauth_keys (mailbox_id, user_id, key_sealed)
           SELECT id, user_id, $3 FROM mailboxes WHERE id = $2 AND user_id = $1
           ON CONFLICT (mailbox_id) DO NOTHING RETURNING key_sealed)
         SELECT key_sealed FROM ins
         UNION ALL SELECT key_sealed FROM urlauth_keys WHERE mailbox_id = $2 AND user_id = $1`,
        [uid, mid, sealed],
      ),
    );
    if (rows.length === 0) {
      // Another session inserted the key between this statement's snapshot and its insert.
      const again = await this.read((sql) =>
        sql.rows<{ key_sealed: Buffer }>('SELECT key_sealed FROM urlauth_keys WHERE mailbox_id = $2 AND user_id = $1', [uid, mid]),
      );
      if (again.length === 0) throw new Error('no such mailbox');
      rows.push(again[0]);
    }
    return Buffer.from(decryptCredentials(this.masterKey, rows[0].key_sealed).key, 'hex');
  }

  async reset(userId: string, mailboxId: string | null): Promise<void> {
    const uid = parseId(userId);
    if (!uid) return;
    if (mailboxId === null) {
      await this.read((sql) => sql.rows('DELETE FROM urlauth_keys WHERE user_id = $1', [uid]));
      return;
    }
    const mid = parseId(mailboxId);
    if (!mid) return;
    await this.read((sql) => sql.rows('DELETE FROM urlauth_keys WHERE user_id = $1 AND mailbox_id = $2', [uid, mid]));
  }

  async userIdByName(name: string): Promise<string | null> {
    const row = await this.read((sql) => findUser(sql, name));
    return row?.id ?? null;
  }
}
