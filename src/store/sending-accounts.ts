// Which addresses each account may send as, and its submission settings, kept in
// accounts.settings (jsonb): `addresses` (string[]; default: the account's own `address`
// or `mailbox` setting, as Gmail and Graph accounts have) and `smtpRelay` (see src/submit/relay),
// with the relay's login sealed in accounts.relay_credentials. The one place that reads
// and writes them (`memgate account addresses|relay` goes through here).
import type { DataSource } from 'typeorm';
import type { SendingAccount, SendingAccounts } from '../submit/ports';
import type { AccountKind } from '../core/ports';
import { autocommit, parseId, type Sql } from './sql';

interface AccountRow {
  id: string;
  user_id: string;
  kind: AccountKind;
  settings: Record<string, unknown> | null;
  credentials: Buffer | null;
  relay_credentials: Buffer | null;
}

const COLUMNS = 'id, user_id, kind, settings, credentials, relay_credentials';

function toSendingAccount(row: AccountRow): SendingAccount {
  const settings = row.settings ?? {};
  const raw = settings.addresses;
  // Without the setting, an account sends as its own address (a Gmail `address`, a Graph `mailbox`).
  const own = [settings.address, settings.mailbox].find((a): a is string => typeof a === 'string' && /^[^@\s]+@[^@\s]+$/.test(a));
  const addresses = Array.isArray(raw)
    ? raw.filter((a): a is string => typeof a === 'string').map((a) => a.toLowerCase())
    : own
      ? [own.toLowerCase()]
      : [];
  return {
    id: row.id,
    userId: row.user_id,
    kind: row.kind,
    addresses,
    settings,
    sealed: { backend: row.credentials, relay: row.relay_credentials },
  };
}

export class PgSendingAccounts implements SendingAccounts {
  constructor(private readonly dataSource: DataSource) {}

  private read<T>(work: (sql: Sql) => Promise<T>): Promise<T> {
    return autocommit(this.dataSource, work);
  }

  async listSendingAccounts(userId: string): Promise<SendingAccount[]> {
    const uid = parseId(userId);
    if (!uid) return [];
    const rows = await this.read((sql) =>
      sql.rows<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE user_id = $1 ORDER BY is_primary DESC, id`, [uid]),
    );
    return rows.map(toSendingAccount);
  }

  async getSendingAccount(userId: string, accountId: string): Promise<SendingAccount | null> {
    const uid = parseId(userId);
    const aid = parseId(accountId);
    if (!uid || !aid) return null;
    const rows = await this.read((sql) =>
      sql.rows<AccountRow>(`SELECT ${COLUMNS} FROM accounts WHERE user_id = $1 AND id = $2`, [uid, aid]),
    );
    return rows[0] ? toSendingAccount(rows[0]) : null;
  }

  /**
   * A backend refused the account's credentials while sending: the account's state says
   * so (`memgate account list`) until its next successful sync.
   */
  async noteNeedsCredentials(accountId: string, reason: string): Promise<void> {
    const aid = parseId(accountId);
    if (!aid) return;
    await this.read((sql) =>
      sql.rows(`UPDATE account_sync SET state = 'auth', reason = $2, updated_at = now() WHERE account_id = $1`, [aid, `needs new credentials (sending): ${reason}`]),
    );
  }

  /** Replaces an account's sealed backend credentials (a token the provider rotated while sending). */
  async saveBackendCredentials(accountId: string, sealed: Buffer): Promise<void> {
    const aid = parseId(accountId);
    if (!aid) return;
    await this.read((sql) => sql.rows('UPDATE accounts SET credentials = $2 WHERE id = $1', [aid, sealed]));
  }

  /** Merges keys into an account's settings (the user's primary account when none is named). */
  async updateSubmissionSettings(
    userId: string,
    patch: { addresses?: string[]; smtpRelay?: Record<string, unknown> | null },
    accountId?: string,
  ): Promise<SendingAccount | null> {
    const uid = parseId(userId);
    if (!uid) return null;
    const aid = accountId === undefined ? null : parseId(accountId);
    if (accountId !== undefined && !aid) return null;
    const rows = await this.read((sql) =>
      sql.rows<AccountRow>(
        `UPDATE accounts SET settings = settings || $3::jsonb
          WHERE user_id = $1 AND (($2::bigint IS NULL AND is_primary) OR id = $2::bigint)
          RETURNING ${COLUMNS}`,
        [uid, aid, JSON.stringify(patch)],
      ),
    );
    return rows[0] ? toSendingAccount(rows[0]) : null;
  }

  /** The id of the user with this name (names are case-insensitive), or null. */
  async userIdByName(name: string): Promise<string | null> {
    const rows = await this.read((sql) => sql.rows<{ id: string }>('SELECT id FROM users WHERE lower(name) = lower($1)', [name]));
    return rows[0]?.id ?? null;
  }

  /** The user's account named by its id, its label, or `primary`. */
  async findAccount(userId: string, ref: string): Promise<SendingAccount | null> {
    const uid = parseId(userId);
    if (!uid) return null;
    const rows = await this.read((sql) =>
      sql.rows<AccountRow>(
        `SELECT ${COLUMNS} FROM accounts
          WHERE user_id = $1 AND (id::text = $2 OR ($2 = 'primary' AND is_primary) OR label = $2)
          ORDER BY (id::text = $2) DESC LIMIT 1`,
        [uid, ref],
      ),
    );
    return rows[0] ? toSendingAccount(rows[0]) : null;
  }

  /**
   * Sets (or, with null, removes) an account's SMTP relay and its sealed login together,
   * so a relay never runs with the previous relay's password.
   */
  async setRelay(userId: string, accountId: string, relay: Record<string, unknown> | null, sealedLogin: Buffer | null): Promise<SendingAccount | null> {
    const uid = parseId(userId);
    const aid = parseId(accountId);
    if (!uid || !aid) return null;
    const rows = await this.read((sql) =>
      sql.rows<AccountRow>(
        `UPDATE accounts SET settings = CASE WHEN $3::jsonb IS NULL THEN settings - 'smtpRelay'
                                             ELSE settings || jsonb_build_object('smtpRelay', $3::jsonb) END,
                             relay_credentials = $4
          WHERE user_id = $1 AND id = $2
          RETURNING ${COLUMNS}`,
        [uid, aid, relay === null ? null : JSON.stringify(relay), sealedLogin],
      ),
    );
    return rows[0] ? toSendingAccount(rows[0]) : null;
  }
}
