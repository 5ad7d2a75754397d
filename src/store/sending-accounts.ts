// Which addresses each account may send as, and its submission settings, kept in
// accounts.settings (jsonb): `addresses` (string[]) and `smtpRelay` (see src/submit/relay).
// Until the accounts CLI grows these settings, this is the one place that reads and
// writes them.
import type { DataSource } from 'typeorm';
import type { SendingAccount, SendingAccounts } from '../submit/ports';
import type { AccountKind } from '../core/ports';
import { autocommit, parseId, type Sql } from './sql';

interface AccountRow {
  id: string;
  user_id: string;
  kind: AccountKind;
  settings: Record<string, unknown> | null;
}

function toSendingAccount(row: AccountRow): SendingAccount {
  const settings = row.settings ?? {};
  const raw = settings.addresses;
  const addresses = Array.isArray(raw) ? raw.filter((a): a is string => typeof a === 'string').map((a) => a.toLowerCase()) : [];
  return { id: row.id, userId: row.user_id, kind: row.kind, addresses, settings };
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
      sql.rows<AccountRow>('SELECT id, user_id, kind, settings FROM accounts WHERE user_id = $1 ORDER BY is_primary DESC, id', [uid]),
    );
    return rows.map(toSendingAccount);
  }

  async getSendingAccount(userId: string, accountId: string): Promise<SendingAccount | null> {
    const uid = parseId(userId);
    const aid = parseId(accountId);
    if (!uid || !aid) return null;
    const rows = await this.read((sql) =>
      sql.rows<AccountRow>('SELECT id, user_id, kind, settings FROM accounts WHERE user_id = $1 AND id = $2', [uid, aid]),
    );
    return rows[0] ? toSendingAccount(rows[0]) : null;
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
          RETURNING id, user_id, kind, settings`,
        [uid, aid, JSON.stringify(patch)],
      ),
    );
    return rows[0] ? toSendingAccount(rows[0]) : null;
  }
}
