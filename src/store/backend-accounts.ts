// Backend accounts in the store: attaching one to a user, listing them with their sync
// state, removing one with its shadow data. Credentials arrive here already encrypted.
import { AlreadyExistsError, CannotError, NotFoundError } from '../core/errors';
import type { AccountKind } from '../core/ports';
import { createMailboxRow, createParents, existingNames, lockUser } from './mailboxes';
import { INBOX } from './names';
import type { Sql } from './sql';

export interface NewBackendAccount {
  userName: string;
  kind: Exclude<AccountKind, 'local'>;
  /** Folder prefix for a secondary account; null makes it the user's primary account. */
  label: string | null;
  settings: Record<string, unknown>;
  credentials: Buffer;
}

export interface BackendAccountRow {
  id: string;
  user_id: string;
  user_name: string;
  kind: AccountKind;
  label: string | null;
  is_primary: boolean;
  settings: Record<string, unknown>;
  credentials: Buffer | null;
  state: string;
  reason: string | null;
  failures: number;
  next_run_at: Date;
  lease_owner: string | null;
  lease_expires: Date | null;
  last_success_at: Date | null;
  last_attempt_at: Date | null;
}

const ACCOUNT_COLUMNS = `a.id, a.user_id, u.name AS user_name, a.kind, a.label, a.is_primary, a.settings, a.credentials,
  s.state, s.reason, s.failures, s.next_run_at, s.lease_owner, s.lease_expires, s.last_success_at, s.last_attempt_at`;

/**
 * Attaches a backend account. Without a label it becomes the primary account: the user's
 * local primary account turns into it, so INBOX and the user's folders stay where they are
 * (INBOX now mirrors the backend's inbox; the other folders stay shadow-store folders).
 * With a label, `<label>/INBOX` is created for it.
 */
export async function insertBackendAccount(sql: Sql, a: NewBackendAccount): Promise<{ accountId: string; userId: string }> {
  const [user] = await sql.rows<{ id: string }>('SELECT id FROM users WHERE lower(name) = lower($1)', [a.userName]);
  if (!user) throw new NotFoundError(`No such user: ${a.userName}`);
  await lockUser(sql, user.id);
  let accountId: string;
  let inboxName: string;
  if (a.label === null) {
    const [primary] = await sql.rows<{ id: string; kind: string }>(
      'SELECT id, kind FROM accounts WHERE user_id = $1 AND is_primary',
      [user.id],
    );
    if (primary && primary.kind !== 'local') throw new AlreadyExistsError(`User ${a.userName} already has a primary ${primary.kind} account; add this one with --label`);
    if (primary) {
      await sql.rows('UPDATE accounts SET kind = $2, settings = $3, credentials = $4 WHERE id = $1', [primary.id, a.kind, a.settings, a.credentials]);
      accountId = primary.id;
    } else {
      const [row] = await sql.rows<{ id: string }>(
        'INSERT INTO accounts (user_id, kind, label, is_primary, settings, credentials) VALUES ($1, $2, NULL, true, $3, $4) RETURNING id',
        [user.id, a.kind, a.settings, a.credentials],
      );
      accountId = row.id;
    }
    inboxName = INBOX;
  } else {
    if (!/^[^/\u0000-\u001f*%]+$/.test(a.label) || a.label.toUpperCase() === INBOX) throw new CannotError(`Invalid label: ${a.label}`);
    const taken = await sql.rows('SELECT 1 FROM accounts WHERE user_id = $1 AND label = $2', [user.id, a.label]);
    if (taken.length > 0) throw new AlreadyExistsError(`User ${a.userName} already has an account labelled ${a.label}`);
    const [row] = await sql.rows<{ id: string }>(
      'INSERT INTO accounts (user_id, kind, label, is_primary, settings, credentials) VALUES ($1, $2, $3, false, $4, $5) RETURNING id',
      [user.id, a.kind, a.label, a.settings, a.credentials],
    );
    accountId = row.id;
    inboxName = `${a.label}/${INBOX}`;
  }
  if ((await existingNames(sql, user.id, [inboxName])).size === 0) {
    await createParents(sql, user.id, inboxName);
    await createMailboxRow(sql, user.id, inboxName, null, `created for the ${a.kind} account`);
    await sql.rows('INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [user.id, inboxName]);
  }
  // The backend's inbox maps to this mailbox; any mailbox under the label belongs to the account.
  await sql.rows(`UPDATE mailboxes SET account_id = $2, backend_id = 'INBOX' WHERE user_id = $1 AND name = $3`, [user.id, accountId, inboxName]);
  await sql.rows(`INSERT INTO account_sync (account_id, user_id) VALUES ($1, $2)`, [accountId, user.id]);
  return { accountId, userId: user.id };
}

/**
 * Gives an existing account new settings and credentials (a grant revoked, a password
 * changed): its mailboxes, UIDs, flags and cached bodies stay, and it is polled at once.
 */
export async function replaceBackendAccount(
  sql: Sql,
  a: { userName: string; accountId: string; kind: string; settings: Record<string, unknown>; credentials: Buffer },
): Promise<void> {
  const rows = await sql.rows<{ id: string; kind: string }>(
    `SELECT a.id, a.kind FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.id::text = $1 AND lower(u.name) = lower($2)`,
    [a.accountId, a.userName],
  );
  if (rows.length === 0) throw new NotFoundError(`User ${a.userName} has no account ${a.accountId}`);
  if (rows[0].kind !== a.kind) throw new CannotError(`Account ${a.accountId} is a ${rows[0].kind} account, not ${a.kind}`);
  await sql.rows('UPDATE accounts SET settings = $2, credentials = $3 WHERE id = $1', [rows[0].id, a.settings, a.credentials]);
  await sql.rows('UPDATE account_sync SET failures = 0, next_run_at = now() WHERE account_id = $1', [rows[0].id]);
}

export async function listBackendAccounts(sql: Sql, userName?: string): Promise<BackendAccountRow[]> {
  return sql.rows<BackendAccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts a JOIN users u ON u.id = a.user_id JOIN account_sync s ON s.account_id = a.id
      WHERE ($1::text IS NULL OR lower(u.name) = lower($1)) ORDER BY lower(u.name), a.id`,
    [userName ?? null],
  );
}

export async function backendAccount(sql: Sql, accountId: string): Promise<BackendAccountRow | null> {
  const [row] = await sql.rows<BackendAccountRow>(
    `SELECT ${ACCOUNT_COLUMNS} FROM accounts a JOIN users u ON u.id = a.user_id JOIN account_sync s ON s.account_id = a.id WHERE a.id = $1`,
    [accountId],
  );
  return row ?? null;
}

export interface AccountCounts {
  messages: number;
  hidden: number;
  bodiesCached: number;
  pendingWriteBacks: number;
  /** The last time the backend lost every message id and a mailbox got a new UIDVALIDITY. */
  lastRenumbering: { at: Date; mailbox: string; reason: string } | null;
}

export async function accountCounts(sql: Sql, accountId: string): Promise<AccountCounts> {
  const [row] = await sql.rows<{ messages: string; hidden: string; cached: string; queued: string }>(
    `SELECT count(*) FILTER (WHERE b.state = 'present') AS messages,
            count(*) FILTER (WHERE b.state = 'hidden') AS hidden,
            count(*) FILTER (WHERE b.state = 'present' AND c.raw IS NOT NULL) AS cached,
            (SELECT count(*) FROM writeback_queue q WHERE q.account_id = $1) AS queued
       FROM backend_messages b LEFT JOIN message_contents c ON c.id = b.content_id
      WHERE b.account_id = $1`,
    [accountId],
  );
  const [renumbering] = await sql.rows<{ created_at: Date; name: string; reason: string }>(
    `SELECT l.created_at, l.name, l.reason FROM uid_validity_log l JOIN mailboxes m ON m.id = l.mailbox_id
      WHERE m.account_id = $1 AND l.reason LIKE 'backend renumbered%' ORDER BY l.id DESC LIMIT 1`,
    [accountId],
  );
  return {
    messages: Number(row.messages),
    hidden: Number(row.hidden),
    bodiesCached: Number(row.cached),
    pendingWriteBacks: Number(row.queued),
    lastRenumbering: renumbering ? { at: renumbering.created_at, mailbox: renumbering.name, reason: renumbering.reason } : null,
  };
}

/**
 * Removes a backend account and its shadow data: every message still shown as a backend
 * message (copies the client made into other folders are the user's and stay), the
 * backend ids, the sync state and the write-back queue. A primary account turns back into a local one, keeping the user's own
 * folders; a labelled one is deleted with all mailboxes under its label.
 * Returns the mailbox ids and UIDs removed, for events.
 */
export async function deleteBackendAccount(sql: Sql, userName: string, accountId: string): Promise<{ userId: string; removed: Array<{ mailboxId: string; uids: number[]; modseq: number }>; contentIds: string[] }> {
  const [acct] = await sql.rows<{ id: string; user_id: string; is_primary: boolean; label: string | null }>(
    `SELECT a.id, a.user_id, a.is_primary, a.label FROM accounts a JOIN users u ON u.id = a.user_id
      WHERE a.id = $1 AND lower(u.name) = lower($2) AND a.kind <> 'local'`,
    [accountId, userName],
  );
  if (!acct) throw new NotFoundError(`No backend account ${accountId} for ${userName}`);
  await lockUser(sql, acct.user_id);
  await sql.rows(`SET LOCAL memgate.sync_apply = 'on'`);
  const shown = await sql.rows<{ mailbox_id: string; uid: number; content_id: string }>(
    `DELETE FROM mailbox_messages m USING backend_messages b
      WHERE b.account_id = $1 AND b.mailbox_id = m.mailbox_id AND b.uid = m.uid
      RETURNING m.mailbox_id, m.uid, m.content_id`,
    [acct.id],
  );
  const byMailbox = new Map<string, number[]>();
  for (const r of shown) byMailbox.set(r.mailbox_id, [...(byMailbox.get(r.mailbox_id) ?? []), r.uid]);
  const removed: Array<{ mailboxId: string; uids: number[]; modseq: number }> = [];
  for (const [mailboxId, uids] of byMailbox) {
    const [m] = await sql.rows<{ highest_modseq: string }>(
      'UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = $1 RETURNING highest_modseq',
      [mailboxId],
    );
    await sql.rows(
      `INSERT INTO expunge_log (mailbox_id, uid, user_id, modseq) SELECT $1, unnest($2::int[]), $3, $4 ON CONFLICT DO NOTHING`,
      [mailboxId, uids, acct.user_id, m.highest_modseq],
    );
    removed.push({ mailboxId, uids, modseq: Number(m.highest_modseq) });
  }
  await sql.rows('DELETE FROM writeback_queue WHERE account_id = $1', [acct.id]);
  if (acct.is_primary) {
    await sql.rows('DELETE FROM backend_messages WHERE account_id = $1', [acct.id]);
    await sql.rows('DELETE FROM account_sync WHERE account_id = $1', [acct.id]);
    await sql.rows(`UPDATE mailboxes SET backend_id = NULL WHERE account_id = $1`, [acct.id]);
    await sql.rows(`UPDATE accounts SET kind = 'local', settings = '{}'::jsonb, credentials = NULL WHERE id = $1`, [acct.id]);
  } else {
    // Mailboxes under the label go with the account (ON DELETE CASCADE).
    await sql.rows('DELETE FROM accounts WHERE id = $1', [acct.id]);
  }
  return { userId: acct.user_id, removed, contentIds: [...new Set(shown.map((s) => s.content_id))] };
}
