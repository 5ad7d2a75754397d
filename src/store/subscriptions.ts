// Subscriptions are names, not mailboxes: a client may subscribe to a name that does not
// exist (yet), and the subscription survives the mailbox's deletion (RFC 9051 6.3.9).
import { NotFoundError } from '../core/errors';
import { findMailbox } from './mailboxes';
import { parseId, type Sql } from './sql';

/** Returns the id of the mailbox of that name, if there is one, for the event. */
export async function subscribeName(sql: Sql, userId: string, name: string): Promise<string | null> {
  const id = parseId(userId);
  if (!id) throw new NotFoundError('No such user');
  await sql.rows('INSERT INTO subscriptions (user_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [id, name]);
  return (await findMailbox(sql, id, name))?.id ?? null;
}

/** RFC 9051 6.3.10: unsubscribing a name that is not subscribed is a NO. */
export async function unsubscribeName(sql: Sql, userId: string, name: string): Promise<string | null> {
  const id = parseId(userId);
  const gone = id ? await sql.rows('DELETE FROM subscriptions WHERE user_id = $1 AND name = $2 RETURNING name', [id, name]) : [];
  if (gone.length === 0) throw new NotFoundError(`${name} is not subscribed`);
  return (await findMailbox(sql, userId, name))?.id ?? null;
}

export async function subscribedNames(sql: Sql, userId: string): Promise<string[]> {
  const id = parseId(userId);
  if (!id) return [];
  const rows = await sql.rows<{ name: string }>('SELECT name FROM subscriptions WHERE user_id = $1 ORDER BY name', [id]);
  return rows.map((r) => r.name);
}
