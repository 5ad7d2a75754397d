// A new UIDVALIDITY for a mailbox whose backend lost every identity (invariant 2): a POP3
// server renumbered every UIDL while some bodies were not fetched yet, so those messages
// cannot be told apart (by content, or by the header shown) and the UIDs clients hold
// for them no longer name anything certain. Every message of the mailbox then gets a new
// UID, above all old ones, in the order it had: a session that stays selected sees each
// old UID expunged and the messages arrive again (valid IMAP), and a client that comes
// back with the old UIDVALIDITY drops its cache and reads the mailbox afresh. Flags and
// contents of recognised messages stay; each change is logged in uid_validity_log.
import { allocate } from './messages';
import { nextUidValidity } from './mailboxes';
import type { Sql } from './sql';

export interface UidValidityRenewal {
  from: number;
  to: number;
  /** UIDs the mailbox had, and the UIDs the same messages have now (same order). */
  oldUids: number[];
  newUids: number[];
  modseq: number;
}

export async function renewUidValidity(sql: Sql, userId: string, mailboxId: string, reason: string): Promise<UidValidityRenewal> {
  const [mailbox] = await sql.rows<{ uid_validity: string; name: string }>('SELECT uid_validity, name FROM mailboxes WHERE id = $1 FOR UPDATE', [mailboxId]);
  const rows = await sql.rows<{ uid: number }>('SELECT uid FROM mailbox_messages WHERE mailbox_id = $1 ORDER BY uid', [mailboxId]);
  const oldUids = rows.map((r) => Number(r.uid));
  // New UIDs start above every old one, so no row ever collides with another on the way.
  const { firstUid, modseq } = await allocate(sql, mailboxId, oldUids.length);
  const newUids = oldUids.map((_, i) => firstUid + i);
  if (oldUids.length > 0) {
    await sql.rows(
      `UPDATE mailbox_messages m SET uid = n.new_uid, modseq = $2
         FROM unnest($3::int[], $4::int[]) AS n(old_uid, new_uid) WHERE m.mailbox_id = $1 AND m.uid = n.old_uid`,
      [mailboxId, modseq, oldUids, newUids],
    );
    await sql.rows(
      `UPDATE backend_messages b SET uid = n.new_uid
         FROM unnest($2::int[], $3::int[]) AS n(old_uid, new_uid) WHERE b.mailbox_id = $1 AND b.uid = n.old_uid`,
      [mailboxId, oldUids, newUids],
    );
    await sql.rows(
      `INSERT INTO expunge_log (mailbox_id, uid, user_id, modseq) SELECT $1, unnest($2::int[]), $3, $4 ON CONFLICT (mailbox_id, uid) DO NOTHING`,
      [mailboxId, oldUids, userId, modseq],
    );
  }
  const to = await nextUidValidity(sql, userId);
  // Nothing here is new mail: no session counts these messages as \Recent.
  await sql.rows('UPDATE mailboxes SET uid_validity = $2, first_recent_uid = uid_next WHERE id = $1', [mailboxId, to]);
  await sql.rows('INSERT INTO uid_validity_log (user_id, mailbox_id, name, uid_validity, reason) VALUES ($1, $2, $3, $4, $5)', [
    userId,
    mailboxId,
    mailbox.name,
    to,
    reason,
  ]);
  return { from: Number(mailbox.uid_validity), to: Number(to), oldUids, newUids, modseq };
}
