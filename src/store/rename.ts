// RENAME (RFC 9051 6.3.6): a mailbox and its whole hierarchy change name and keep their
// UIDVALIDITY; renaming INBOX instead moves its messages into a new mailbox.
import { AlreadyExistsError, CannotError, NotFoundError } from '../core/errors';
import type { Mailbox } from '../core/ports';
import { transfer, type Transferred } from './changes';
import { createMailboxTree, createParents, existingNames, findMailbox, lockUser } from './mailboxes';
import { INBOX, isSelfOrDescendant } from './names';
import type { Sql } from './sql';

export interface Renamed {
  renamed: { id: string; oldName: string; name: string }[];
  created: Mailbox[];
  /** Renaming INBOX: the move out of it. */
  inboxMove?: { inboxId: string; destId: string; moved: Transferred };
}

export async function renameTree(sql: Sql, userId: string, oldName: string, newName: string): Promise<Renamed> {
  await lockUser(sql, userId);
  const source = await findMailbox(sql, userId, oldName);
  if (!source) throw new NotFoundError(`No mailbox ${oldName}`);
  if (oldName === INBOX) {
    const created = await createMailboxTree(sql, userId, newName, null);
    const dest = created[created.length - 1];
    const moved = await transfer(sql, userId, source.id, null, dest.id, true);
    return { renamed: [], created, inboxMove: { inboxId: source.id, destId: dest.id, moved } };
  }
  if (newName === oldName || (await existingNames(sql, userId, [newName])).size > 0) {
    throw new AlreadyExistsError(`Mailbox ${newName} exists`);
  }
  if (isSelfOrDescendant(newName, oldName)) throw new CannotError('Cannot rename a mailbox into itself');

  const rows = await sql.rows<{ id: string; name: string }>(
    `SELECT id, name FROM mailboxes
      WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/') ORDER BY name`,
    [userId, oldName],
  );
  const renamed = rows.map((r) => ({ id: r.id, oldName: r.name, name: newName + r.name.slice(oldName.length) }));
  const ids = renamed.map((r) => r.id);
  const clash = await sql.rows<{ name: string }>(
    'SELECT name FROM mailboxes WHERE user_id = $1 AND name = ANY($2::text[]) AND NOT (id = ANY($3::bigint[]))',
    [userId, renamed.map((r) => r.name), ids],
  );
  if (clash.length > 0) throw new AlreadyExistsError(`Mailbox ${clash[0].name} exists`);
  // Two steps: when the new name is an ancestor of the old one, a new name can equal an
  // old name still in the set, which a single UPDATE would trip over in the unique index.
  await sql.rows(`UPDATE mailboxes SET name = E'\\x01rename\\x01' || id::text WHERE id = ANY($1::bigint[])`, [ids]);
  await sql.rows(
    `UPDATE mailboxes m SET name = v.name FROM unnest($1::bigint[], $2::text[]) AS v(id, name) WHERE m.id = v.id`,
    [ids, renamed.map((r) => r.name)],
  );
  await renameSubscriptions(sql, userId, oldName, newName);
  const created = await createParents(sql, userId, newName);
  return { renamed, created };
}

/** Subscriptions follow the renamed hierarchy, as users expect (Dovecot does the same). */
async function renameSubscriptions(sql: Sql, userId: string, oldName: string, newName: string): Promise<void> {
  const subscribed = await sql.rows<{ name: string }>(
    `SELECT name FROM subscriptions WHERE user_id = $1 AND (name = $2 OR left(name, length($2) + 1) = $2 || '/')`,
    [userId, oldName],
  );
  if (subscribed.length === 0) return;
  const oldNames = subscribed.map((s) => s.name);
  await sql.rows('DELETE FROM subscriptions WHERE user_id = $1 AND name = ANY($2::text[])', [userId, oldNames]);
  await sql.rows(
    'INSERT INTO subscriptions (user_id, name) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING',
    [userId, oldNames.map((n) => newName + n.slice(oldName.length))],
  );
}
