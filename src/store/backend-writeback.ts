// What the write-back worker needs from the store besides the queue itself: the current
// state of the message an op is about (flags, bytes to append), and binding the ids the
// backend gave to messages the client put there (placeholders 'pending:<n>'), in the
// transaction that completes the op, so that a later report of them is recognised.
import type { Sql } from './sql';

export interface AppendSource {
  raw: Buffer | null;
  flags: string[];
  internalDate: Date;
}

export async function appendSource(sql: Sql, accountId: string, folderId: string, placeholder: string): Promise<AppendSource | null> {
  const [row] = await sql.rows<{ raw: Buffer | null; flags: string[]; internal_date: Date }>(
    `SELECT c.raw, mm.flags, mm.internal_date FROM backend_messages b
       JOIN mailbox_messages mm ON mm.mailbox_id = b.mailbox_id AND mm.uid = b.uid
       JOIN message_contents c ON c.id = mm.content_id
      WHERE b.account_id = $1 AND b.folder_id = $2 AND b.backend_id = $3 AND b.state = 'present'`,
    [accountId, folderId, placeholder],
  );
  return row ? { raw: row.raw, flags: row.flags, internalDate: row.internal_date } : null;
}

/** Flags of the message a backend row shows now; null when it is not shown any more. */
export async function currentFlags(sql: Sql, accountId: string, folderId: string, id: string): Promise<string[] | null> {
  const [row] = await sql.rows<{ flags: string[] }>(
    `SELECT mm.flags FROM backend_messages b JOIN mailbox_messages mm ON mm.mailbox_id = b.mailbox_id AND mm.uid = b.uid
      WHERE b.account_id = $1 AND b.folder_id = $2 AND b.backend_id = $3 AND b.state = 'present'`,
    [accountId, folderId, id],
  );
  return row?.flags ?? null;
}

/**
 * The op is done at the backend: the placeholder (if any) becomes the backend's id, queued
 * ops that named the placeholder name the real id, and the op leaves the queue.
 */
export async function completeWithBinding(
  sql: Sql,
  accountId: string,
  queueId: string,
  binding: { folderId: string; placeholder: string; id: string } | null,
): Promise<void> {
  if (binding) {
    await sql.rows(`SET LOCAL memgate.sync_apply = 'on'`);
    // The queue runs before deltas, so the backend cannot have reported the new message
    // yet; should it have (a crash between the backend's answer and this commit), the row
    // it made is kept and the client's copy stays local.
    await sql.rows(`DELETE FROM backend_messages WHERE account_id = $1 AND folder_id = $2 AND backend_id = $3 AND state = 'hidden'`, [
      accountId,
      binding.folderId,
      binding.id,
    ]);
    const clash = await sql.rows(`SELECT 1 FROM backend_messages WHERE account_id = $1 AND folder_id = $2 AND backend_id = $3`, [
      accountId,
      binding.folderId,
      binding.id,
    ]);
    if (clash.length > 0) {
      // Already shown under its own UID: the client's copy stays, as a local message.
      await dropPlaceholder(sql, accountId, binding.folderId, binding.placeholder);
      await sql.rows('DELETE FROM writeback_queue WHERE id = $1', [queueId]);
      return;
    }
    await sql.rows(`UPDATE backend_messages SET backend_id = $4 WHERE account_id = $1 AND folder_id = $2 AND backend_id = $3`, [
      accountId,
      binding.folderId,
      binding.placeholder,
      binding.id,
    ]);
    await sql.rows(`UPDATE writeback_queue SET op = jsonb_set(op, '{id}', to_jsonb($3::text)) WHERE account_id = $1 AND op->>'id' = $2`, [
      accountId,
      binding.placeholder,
      binding.id,
    ]);
  }
  await sql.rows('DELETE FROM writeback_queue WHERE id = $1', [queueId]);
}

/** A placeholder whose op cannot be done (dropped): the message stays, local only. */
export async function dropPlaceholder(sql: Sql, accountId: string, folderId: string, placeholder: string): Promise<void> {
  await sql.rows('DELETE FROM backend_messages WHERE account_id = $1 AND folder_id = $2 AND backend_id = $3', [accountId, folderId, placeholder]);
}

export async function saveCredentials(sql: Sql, accountId: string, credentials: Buffer): Promise<void> {
  await sql.rows('UPDATE accounts SET credentials = $2 WHERE id = $1', [accountId, credentials]);
}

/** Present backend ids per folder (what a cursor backend is known to hold). */
export async function presentIds(sql: Sql, accountId: string): Promise<Map<string, Set<string>>> {
  const rows = await sql.rows<{ folder_id: string; backend_id: string }>(
    `SELECT folder_id, backend_id FROM backend_messages WHERE account_id = $1 AND state = 'present' AND backend_id NOT LIKE 'pending:%'`,
    [accountId],
  );
  const out = new Map<string, Set<string>>();
  for (const r of rows) out.set(r.folder_id, (out.get(r.folder_id) ?? new Set()).add(r.backend_id));
  return out;
}
