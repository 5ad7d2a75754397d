// Reading messages and appending them. UID allocation happens in one UPDATE ... RETURNING
// on the mailbox row: its row lock serialises concurrent appends, and since it is held
// until commit, modseqs become visible in the order they were handed out.
import { createHash } from 'node:crypto';
import type { AppendInput, HeaderContent, MailboxCounts, MailboxDelta, MessageContent } from '../core/ports';
import { absentUids, expungedSince } from './expunge-log';
import { normaliseFlags } from './flags';
import { requireMailbox } from './mailboxes';
import { MESSAGE_COLUMNS, parseId, toMessage, type MessageRow, type Sql } from './sql';

/** Takes `count` UIDs and one new modseq from a mailbox (row-locked until commit). */
export async function allocate(sql: Sql, mailboxId: string, count: number): Promise<{ firstUid: number; modseq: number }> {
  const [row] = await sql.rows<{ uid_next: number; highest_modseq: string }>(
    `UPDATE mailboxes SET uid_next = uid_next + $2, highest_modseq = highest_modseq + 1
      WHERE id = $1 RETURNING uid_next, highest_modseq`,
    [mailboxId, count],
  );
  return { firstUid: row.uid_next - count, modseq: Number(row.highest_modseq) };
}

export async function listMessageRows(sql: Sql, userId: string, mailboxId: string) {
  const mailbox = await requireMailbox(sql, userId, mailboxId);
  const rows = await sql.rows<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM mailbox_messages WHERE mailbox_id = $1 ORDER BY uid`,
    [mailbox.id],
  );
  return rows.map(toMessage);
}

/** Flags are stored with system flags in canonical case, so the match is exact. */
export async function deletedMessageUids(sql: Sql, userId: string, mailboxId: string): Promise<number[]> {
  const mailbox = await requireMailbox(sql, userId, mailboxId);
  const rows = await sql.rows<{ uid: number }>(
    `SELECT uid FROM mailbox_messages WHERE mailbox_id = $1 AND flags @> ARRAY['\\Deleted']::text[] ORDER BY uid`,
    [mailbox.id],
  );
  return rows.map((r) => Number(r.uid));
}

/** Run in one REPEATABLE READ transaction, so counters and rows are one snapshot. */
export async function delta(sql: Sql, userId: string, mailboxId: string, sinceModseq: number, lastUid: number): Promise<MailboxDelta> {
  const mailbox = await requireMailbox(sql, userId, mailboxId);
  const since = Math.max(0, Math.floor(sinceModseq));
  const last = Math.max(0, Math.floor(lastUid));
  const rows = await sql.rows<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM mailbox_messages
      WHERE mailbox_id = $1 AND (uid > $2 OR modseq > $3) ORDER BY uid`,
    [mailbox.id, last, since],
  );
  // UIDs above lastUid were never seen by the caller, so their expunges are not news.
  const logged = await expungedSince(sql, mailbox.id, since, [[1, last]]);
  const expunged = logged.complete ? logged.uids : await absentUids(sql, mailbox.id, last);
  const messages = rows.map(toMessage);
  return {
    added: messages.filter((m) => m.uid > last),
    changed: messages.filter((m) => m.uid <= last),
    expunged,
    highestModseq: Number(mailbox.highest_modseq),
    uidNext: mailbox.uid_next,
  };
}

export async function counts(sql: Sql, userId: string, mailboxId: string): Promise<MailboxCounts> {
  const mailbox = await requireMailbox(sql, userId, mailboxId);
  const [row] = await sql.rows<{ messages: string; unseen: string; deleted: string; size: string }>(
    `SELECT count(*) AS messages,
            count(*) FILTER (WHERE NOT ('\\Seen' = ANY(flags))) AS unseen,
            count(*) FILTER (WHERE '\\Deleted' = ANY(flags)) AS deleted,
            coalesce(sum(size), 0) AS size
       FROM mailbox_messages WHERE mailbox_id = $1`,
    [mailbox.id],
  );
  return { messages: Number(row.messages), unseen: Number(row.unseen), deleted: Number(row.deleted), size: Number(row.size) };
}

export interface Appended {
  uidValidity: number;
  uids: number[];
  modseq: number;
}

export async function append(sql: Sql, userId: string, mailboxId: string, messages: readonly AppendInput[]): Promise<Appended> {
  const mailbox = await requireMailbox(sql, userId, mailboxId);
  if (messages.length === 0) return { uidValidity: Number(mailbox.uid_validity), uids: [], modseq: 0 };
  // Contents first: they need no lock, so the mailbox row stays locked only briefly.
  const contentIds: string[] = [];
  for (const m of messages) {
    const [row] = await sql.rows<{ id: string }>(
      'INSERT INTO message_contents (user_id, raw, size, sha256, summary) VALUES ($1, $2, $3, $4, $5) RETURNING id',
      [mailbox.user_id, m.raw, m.raw.length, createHash('sha256').update(m.raw).digest('hex'), m.summary ?? null],
    );
    contentIds.push(row.id);
  }
  const { firstUid, modseq } = await allocate(sql, mailbox.id, messages.length);
  const uids = messages.map((_, i) => firstUid + i);
  for (const [i, m] of messages.entries()) {
    await sql.rows(
      `INSERT INTO mailbox_messages (mailbox_id, uid, user_id, content_id, modseq, flags, internal_date, size)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [mailbox.id, uids[i], mailbox.user_id, contentIds[i], modseq, normaliseFlags(m.flags), m.internalDate ?? new Date(), m.raw.length],
    );
  }
  return { uidValidity: Number(mailbox.uid_validity), uids, modseq };
}

export async function content(sql: Sql, userId: string, contentId: string): Promise<MessageContent | null> {
  const uid = parseId(userId);
  const cid = parseId(contentId);
  if (!uid || !cid) return null;
  const [row] = await sql.rows<{ id: string; raw: Buffer }>('SELECT id, raw FROM message_contents WHERE id = $1 AND user_id = $2', [
    cid,
    uid,
  ]);
  return row ? { id: row.id, raw: row.raw } : null;
}

/** The content, or its header section alone while only that is stored (see MailStore.getHeaderContent). */
export async function headerContent(sql: Sql, userId: string, contentId: string): Promise<HeaderContent | null> {
  const uid = parseId(userId);
  const cid = parseId(contentId);
  if (!uid || !cid) return null;
  // The header is read only when the body is missing.
  const [row] = await sql.rows<{ id: string; raw: Buffer | null; header: Buffer | null }>(
    'SELECT id, raw, CASE WHEN raw IS NULL THEN header END AS header FROM message_contents WHERE id = $1 AND user_id = $2',
    [cid, uid],
  );
  if (!row) return null;
  if (row.raw === null && row.header !== null) return { id: row.id, raw: row.header, headerOnly: true };
  // raw may be null here (nothing fetched yet): the body fetcher's wrapper takes it from there.
  return { id: row.id, raw: row.raw as Buffer, headerOnly: false };
}

export async function summaries(sql: Sql, userId: string, contentIds: readonly string[]): Promise<Map<string, string>> {
  const uid = parseId(userId);
  const ids = contentIds.map(parseId).filter((id): id is string => id !== null);
  const result = new Map<string, string>();
  if (!uid || ids.length === 0) return result;
  const rows = await sql.rows<{ id: string; summary: string }>(
    'SELECT id, summary FROM message_contents WHERE user_id = $1 AND id = ANY($2::bigint[]) AND summary IS NOT NULL',
    [uid, ids],
  );
  for (const r of rows) result.set(r.id, r.summary);
  return result;
}

/** A summary is a cache: saving one for a content that is gone is not an error. */
export async function saveSummary(sql: Sql, userId: string, contentId: string, summary: string): Promise<void> {
  const uid = parseId(userId);
  const cid = parseId(contentId);
  if (!uid || !cid) return;
  await sql.rows('UPDATE message_contents SET summary = $3 WHERE id = $1 AND user_id = $2', [cid, uid, summary]);
}

/**
 * Deletes contents no mailbox shows any more. Best effort, after the commit that freed
 * them: a content that a concurrent copy just referenced fails the foreign key and stays.
 */
export async function collectGarbage(sql: Sql, userId: string, contentIds: readonly string[]): Promise<void> {
  if (contentIds.length === 0) return;
  await sql.rows(
    `DELETE FROM message_contents c
      WHERE c.user_id = $1 AND c.id = ANY($2::bigint[])
        AND NOT EXISTS (SELECT 1 FROM mailbox_messages m WHERE m.content_id = c.id)`,
    [userId, contentIds],
  );
}
