// Users and their default account and mailboxes.
import { AlreadyExistsError, CannotError } from '../core/errors';
import type { SpecialUse, User } from '../core/ports';
import { createMailboxRow } from './mailboxes';
import { INBOX } from './names';
import { pgCode, toUser, UNIQUE_VIOLATION, type Sql, type UserRow } from './sql';

/** What every new user gets (RFC 6154 special-use attributes), all subscribed. */
export const DEFAULT_MAILBOXES: ReadonlyArray<[string, SpecialUse | null]> = [
  [INBOX, null],
  ['Sent', '\\Sent'],
  ['Drafts', '\\Drafts'],
  ['Trash', '\\Trash'],
  ['Junk', '\\Junk'],
  ['Archive', '\\Archive'],
];

export async function insertUser(sql: Sql, name: string, passwordHash: string): Promise<User> {
  if (name.length === 0 || /[\u0000-\u001f\u007f]/.test(name)) throw new CannotError('Invalid user name');
  let row: UserRow;
  try {
    [row] = await sql.rows<UserRow>(
      'INSERT INTO users (name, password_hash) VALUES ($1, $2) RETURNING id, name, password_hash, created_at',
      [name, passwordHash],
    );
  } catch (err) {
    if (pgCode(err) === UNIQUE_VIOLATION) throw new AlreadyExistsError(`User ${name} exists`);
    throw err;
  }
  await sql.rows(`INSERT INTO accounts (user_id, kind, label, is_primary) VALUES ($1, 'local', NULL, true)`, [row.id]);
  for (const [mailbox, specialUse] of DEFAULT_MAILBOXES) {
    await createMailboxRow(sql, row.id, mailbox, specialUse, 'created with the user');
  }
  await sql.rows('INSERT INTO subscriptions (user_id, name) SELECT $1, unnest($2::text[])', [
    row.id,
    DEFAULT_MAILBOXES.map(([n]) => n),
  ]);
  return toUser(row);
}

/** User names are unique case-insensitively (`Alice` and `alice` are one login). */
export async function findUser(sql: Sql, name: string): Promise<UserRow | null> {
  const [row] = await sql.rows<UserRow>(
    'SELECT id, name, password_hash, created_at FROM users WHERE lower(name) = lower($1)',
    [name],
  );
  return row ?? null;
}

export async function deleteUserRow(sql: Sql, name: string): Promise<boolean> {
  // Cascades to accounts, mailboxes, messages, contents, subscriptions.
  const rows = await sql.rows('DELETE FROM users WHERE lower(name) = lower($1) RETURNING id', [name]);
  return rows.length > 0;
}

export async function allUsers(sql: Sql): Promise<User[]> {
  const rows = await sql.rows<UserRow>('SELECT id, name, password_hash, created_at FROM users ORDER BY lower(name)');
  return rows.map(toUser);
}
