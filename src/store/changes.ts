// Changes to messages already in mailboxes: flags, expunge, copy and move. Lock order,
// to rule out deadlocks: mailbox rows first (ascending id), then message rows. Every
// writer of message rows holds its mailbox's row lock, so reads after it are current.
import { CannotError, NotFoundError } from '../core/errors';
import type { CopyResult, FlagOperation, MailboxMessage, StoreFlagsResult } from '../core/ports';
import { applyFlagOperation, sameFlags } from './flags';
import { requireMailbox } from './mailboxes';
import { allocate } from './messages';
import { MAILBOX_COLUMNS, MESSAGE_COLUMNS, parseId, toMessage, validUids, type MailboxRow, type MessageRow, type Sql } from './sql';

export interface FlagChange extends StoreFlagsResult {
  modseq: number;
}

export async function changeFlags(
  sql: Sql,
  userId: string,
  mailboxId: string,
  uids: readonly number[],
  op: FlagOperation,
  flags: readonly string[],
  unchangedSince?: number,
): Promise<FlagChange> {
  const mailbox = await requireMailbox(sql, userId, mailboxId, true);
  const rows = await sql.rows<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM mailbox_messages WHERE mailbox_id = $1 AND uid = ANY($2::int[]) ORDER BY uid`,
    [mailbox.id, validUids(uids)],
  );
  const modified: number[] = [];
  // Messages grouped by their new flag list, so that one UPDATE serves each group.
  const groups = new Map<string, { flags: string[]; messages: MailboxMessage[] }>();
  for (const message of rows.map(toMessage)) {
    // RFC 7162 3.1.3: a message changed since the client's modseq is left alone.
    if (unchangedSince !== undefined && message.modseq > unchangedSince) {
      modified.push(message.uid);
      continue;
    }
    const next = applyFlagOperation(message.flags, op, flags);
    if (sameFlags(next, message.flags)) continue;
    const key = JSON.stringify(next);
    const group = groups.get(key) ?? { flags: next, messages: [] };
    group.messages.push(message);
    groups.set(key, group);
  }
  if (groups.size === 0) return { updated: [], modified, modseq: 0 };
  const { modseq } = await allocate(sql, mailbox.id, 0);
  const updated: MailboxMessage[] = [];
  for (const group of groups.values()) {
    await sql.rows('UPDATE mailbox_messages SET flags = $3, modseq = $4 WHERE mailbox_id = $1 AND uid = ANY($2::int[])', [
      mailbox.id,
      group.messages.map((m) => m.uid),
      group.flags,
      modseq,
    ]);
    for (const m of group.messages) updated.push({ ...m, flags: group.flags, modseq });
  }
  updated.sort((a, b) => a.uid - b.uid);
  return { updated, modified, modseq };
}

export interface Expunged {
  uids: number[];
  modseq: number;
  contentIds: string[];
}

/** Deletes the rows and logs each UID with one new modseq; the mailbox must be locked. */
async function expungeLocked(sql: Sql, mailbox: MailboxRow, uids: readonly number[]): Promise<Expunged> {
  const gone = await sql.rows<{ uid: number; content_id: string }>(
    'DELETE FROM mailbox_messages WHERE mailbox_id = $1 AND uid = ANY($2::int[]) RETURNING uid, content_id',
    [mailbox.id, validUids(uids)],
  );
  if (gone.length === 0) return { uids: [], modseq: 0, contentIds: [] };
  const { modseq } = await allocate(sql, mailbox.id, 0);
  const expunged = gone.map((g) => g.uid).sort((a, b) => a - b);
  // UIDs are never reused, so a conflict cannot happen; DO NOTHING keeps it harmless.
  await sql.rows(
    `INSERT INTO expunge_log (mailbox_id, uid, user_id, modseq)
     SELECT $1, unnest($2::int[]), $3, $4 ON CONFLICT (mailbox_id, uid) DO NOTHING`,
    [mailbox.id, expunged, mailbox.user_id, modseq],
  );
  return { uids: expunged, modseq, contentIds: [...new Set(gone.map((g) => g.content_id))] };
}

export async function expunge(sql: Sql, userId: string, mailboxId: string, uids: readonly number[]): Promise<Expunged> {
  const mailbox = await requireMailbox(sql, userId, mailboxId, true);
  return expungeLocked(sql, mailbox, uids);
}

export interface Transferred extends CopyResult {
  destModseq: number;
  /** Present for a move that removed something from the source. */
  expunged?: Expunged;
}

/**
 * COPY or MOVE (RFC 6851): destination UIDs are allocated in source-UID order; copies
 * keep flags and internal date and share the content row. `uids` null means all.
 */
export async function transfer(
  sql: Sql,
  userId: string,
  sourceId: string,
  uids: readonly number[] | null,
  destId: string,
  move: boolean,
): Promise<Transferred> {
  const { source, dest } = await lockPair(sql, userId, sourceId, destId);
  // MOVE into the same mailbox is allowed (RFC 6851): the messages get new UIDs there.
  const found = await sql.rows<{ uid: number }>(
    uids === null
      ? 'SELECT uid FROM mailbox_messages WHERE mailbox_id = $1 ORDER BY uid'
      : 'SELECT uid FROM mailbox_messages WHERE mailbox_id = $1 AND uid = ANY($2::int[]) ORDER BY uid',
    uids === null ? [source.id] : [source.id, validUids(uids)],
  );
  const sourceUids = found.map((f) => f.uid);
  const uidValidity = Number(dest.uid_validity);
  if (sourceUids.length === 0) return { uidValidity, sourceUids, destUids: [], destModseq: 0 };
  const { firstUid, modseq } = await allocate(sql, dest.id, sourceUids.length);
  await sql.rows(
    `INSERT INTO mailbox_messages (mailbox_id, uid, user_id, content_id, modseq, flags, internal_date, size)
     SELECT $1, $2 + s.ord - 1, m.user_id, m.content_id, $3, m.flags, m.internal_date, m.size
       FROM unnest($4::int[]) WITH ORDINALITY AS s(uid, ord)
       JOIN mailbox_messages m ON m.mailbox_id = $5 AND m.uid = s.uid`,
    [dest.id, firstUid, modseq, sourceUids, source.id],
  );
  const destUids = sourceUids.map((_, i) => firstUid + i);
  const result: Transferred = { uidValidity, sourceUids, destUids, destModseq: modseq };
  if (move) result.expunged = await expungeLocked(sql, source, sourceUids);
  return result;
}

/** Locks both mailboxes in id order; the destination missing is [TRYCREATE]. */
async function lockPair(sql: Sql, userId: string, sourceId: string, destId: string): Promise<{ source: MailboxRow; dest: MailboxRow }> {
  const uid = parseId(userId);
  const ids = [sourceId, destId].map(parseId).filter((id): id is string => id !== null);
  const rows = uid
    ? await sql.rows<MailboxRow>(
        `SELECT ${MAILBOX_COLUMNS} FROM mailboxes WHERE user_id = $1 AND id = ANY($2::bigint[]) ORDER BY id FOR UPDATE`,
        [uid, ids],
      )
    : [];
  const source = rows.find((r) => r.id === sourceId);
  const dest = rows.find((r) => r.id === destId);
  if (!source) throw new NotFoundError('No such mailbox');
  if (!dest) throw new NotFoundError('No such destination mailbox', 'TRYCREATE');
  return { source, dest };
}
