// Mailbox rows: creation with parents, deletion, lookups. Callers lock the user row first
// (lockUser) so that concurrent namespace changes of one user run one after another.
import { AlreadyExistsError, CannotError, NotFoundError } from '../core/errors';
import type { Mailbox, SpecialUse } from '../core/ports';
import { DELIMITER, parentNames } from './names';
import { MAILBOX_COLUMNS, parseId, toMailbox, type MailboxRow, type Sql } from './sql';

/** Locks the user's row for this transaction; NotFoundError for an unknown user. */
export async function lockUser(sql: Sql, userId: string): Promise<void> {
  const id = parseId(userId);
  const rows = id ? await sql.rows('SELECT id FROM users WHERE id = $1 FOR UPDATE', [id]) : [];
  if (rows.length === 0) throw new NotFoundError('No such user');
}

/**
 * A UIDVALIDITY never used before for this user: epoch seconds, or one more than the last
 * one when several mailboxes are created within a second. A mailbox deleted and created
 * again under the same name therefore gets a new one (RFC 9051 2.3.1.1).
 */
export async function nextUidValidity(sql: Sql, userId: string): Promise<string> {
  const [row] = await sql.rows<{ last_uid_validity: string }>(
    `UPDATE users
        SET last_uid_validity = GREATEST(last_uid_validity + 1, floor(extract(epoch FROM clock_timestamp()))::bigint)
      WHERE id = $1
      RETURNING last_uid_validity`,
    [userId],
  );
  return row.last_uid_validity;
}

/** The account a new mailbox belongs to: the one whose label is its first level, else the primary. */
async function accountFor(sql: Sql, userId: string, name: string): Promise<string> {
  const [row] = await sql.rows<{ id: string }>(
    `SELECT id FROM accounts WHERE user_id = $1 AND (is_primary OR label = $2)
      ORDER BY is_primary LIMIT 1`,
    [userId, name.split(DELIMITER)[0]],
  );
  if (!row) throw new CannotError('User has no account');
  return row.id;
}

/** Inserts one mailbox whose name is normalised and known to be free. */
export async function createMailboxRow(
  sql: Sql,
  userId: string,
  name: string,
  specialUse: SpecialUse | null,
  reason: string,
): Promise<Mailbox> {
  const accountId = await accountFor(sql, userId, name);
  const uidValidity = await nextUidValidity(sql, userId);
  const [row] = await sql.rows<MailboxRow>(
    `INSERT INTO mailboxes (user_id, account_id, name, special_use, uid_validity)
     VALUES ($1, $2, $3, $4, $5) RETURNING ${MAILBOX_COLUMNS}`,
    [userId, accountId, name, specialUse, uidValidity],
  );
  await sql.rows(
    'INSERT INTO uid_validity_log (user_id, mailbox_id, name, uid_validity, reason) VALUES ($1, $2, $3, $4, $5)',
    [userId, row.id, name, uidValidity, reason],
  );
  return toMailbox(row);
}

export async function existingNames(sql: Sql, userId: string, names: readonly string[]): Promise<Set<string>> {
  const rows = await sql.rows<{ name: string }>('SELECT name FROM mailboxes WHERE user_id = $1 AND name = ANY($2::text[])', [
    userId,
    names,
  ]);
  return new Set(rows.map((r) => r.name));
}

/** Creates the missing ancestors of `name` (RFC 9051 6.3.4); returns those created. */
export async function createParents(sql: Sql, userId: string, name: string): Promise<Mailbox[]> {
  const parents = parentNames(name);
  const present = await existingNames(sql, userId, parents);
  const created: Mailbox[] = [];
  for (const parent of parents) {
    if (!present.has(parent)) created.push(await createMailboxRow(sql, userId, parent, null, 'created as a parent'));
  }
  return created;
}

/** Creates `name` and its missing parents; the user must be locked. Returns all created. */
export async function createMailboxTree(
  sql: Sql,
  userId: string,
  name: string,
  specialUse: SpecialUse | null,
): Promise<Mailbox[]> {
  if ((await existingNames(sql, userId, [name])).size > 0) throw new AlreadyExistsError(`Mailbox ${name} exists`);
  const created = await createParents(sql, userId, name);
  created.push(await createMailboxRow(sql, userId, name, specialUse, 'created'));
  return created;
}

export async function findMailbox(sql: Sql, userId: string, name: string): Promise<MailboxRow | null> {
  const id = parseId(userId);
  if (!id) return null;
  const [row] = await sql.rows<MailboxRow>(`SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE user_id = $1 AND name = $2`, [
    id,
    name,
  ]);
  return row ?? null;
}

/** Deletes one mailbox (its messages and expunge log cascade); returns its content ids. */
export async function removeMailbox(sql: Sql, userId: string, name: string): Promise<{ id: string; contentIds: string[] }> {
  const mailbox = await findMailbox(sql, userId, name);
  if (!mailbox) throw new NotFoundError(`No mailbox ${name}`);
  const contents = await sql.rows<{ content_id: string }>(
    'SELECT DISTINCT content_id FROM mailbox_messages WHERE mailbox_id = $1',
    [mailbox.id],
  );
  await sql.rows('DELETE FROM mailboxes WHERE id = $1', [mailbox.id]);
  return { id: mailbox.id, contentIds: contents.map((c) => c.content_id) };
}

/** The user's mailbox with that id, optionally row-locked; null for anyone else's. */
export async function ownedMailbox(sql: Sql, userId: string, mailboxId: string, lock = false): Promise<MailboxRow | null> {
  const uid = parseId(userId);
  const mid = parseId(mailboxId);
  if (!uid || !mid) return null;
  const [row] = await sql.rows<MailboxRow>(
    `SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE id = $1 AND user_id = $2 ${lock ? 'FOR UPDATE' : ''}`,
    [mid, uid],
  );
  return row ?? null;
}

export async function requireMailbox(sql: Sql, userId: string, mailboxId: string, lock = false): Promise<MailboxRow> {
  const row = await ownedMailbox(sql, userId, mailboxId, lock);
  if (!row) throw new NotFoundError('No such mailbox');
  return row;
}
