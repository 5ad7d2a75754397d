// Applying a cursor backend's typed changes (Graph delta, Gmail history) to the shadow
// store: idempotently, keyed by (folder, backend id), in one transaction with the cursors
// they lead to (design guideline 5). A report of something the store already shows is no
// change (this is how the echo of a written-back client change is recognised, invariant 5),
// and a message with client changes still queued keeps the client's flags until they are
// written back.
import type { StoreEvent } from '../core/events';
import { sameFlags, normaliseFlags } from './flags';
import { fence, sha256Hex } from './backend-sync';
import { allocate } from './messages';
import type { Sql } from './sql';

export interface DeltaMessage {
  id: string;
  size: number;
  flags?: string[];
  internalDate?: Date;
}

export type DeltaChange =
  | { kind: 'created'; folderId: string; message: DeltaMessage }
  | { kind: 'flags'; folderId: string; id: string; flags: string[] }
  | { kind: 'moved'; fromFolderId: string; toFolderId: string; id: string; toId?: string; flags?: string[] }
  | { kind: 'deleted'; folderId: string; id: string };

export interface DeltaInput {
  accountId: string;
  owner: string;
  changes: readonly DeltaChange[];
  /** Cursor per folder, saved in the same transaction. */
  cursors: ReadonlyArray<{ folderId: string; cursor: string | null }>;
  /** Flags the backend keeps; the others stay as the shadow store has them. */
  owns: (flag: string) => boolean;
  /** A message may be in several folders at once (labels): no created-elsewhere-is-a-move. */
  labels: boolean;
  /** Bodies fetched before announcing, by `${folderId}\u0000${id}`: size and content are final. */
  bodies?: ReadonlyMap<string, Buffer>;
}

export interface DeltaResult {
  userId: string;
  events: StoreEvent[];
  added: number;
  moved: number;
  flagged: number;
  expunged: number;
  /** Changes for folders that have no mailbox (not mirrored yet). */
  skipped: number;
  freedContentIds: string[];
}

interface Row {
  folderId: string;
  id: string;
  state: 'present' | 'hidden';
  mailboxId: string | null;
  uid: number | null;
  contentId: string | null;
  flags: string[];
}

interface NewMessage {
  folderId: string;
  id: string;
  size: number;
  flags: string[];
  internalDate: Date;
}

export const key = (folderId: string, id: string): string => `${folderId}\u0000${id}`;

/** Owned flags from the backend, the rest from the shadow store. */
export function mergeOwnedFlags(current: readonly string[], reported: readonly string[], owns: (flag: string) => boolean): string[] {
  return normaliseFlags([...current.filter((f) => !owns(f)), ...reported.filter((f) => owns(f))]);
}

export async function applyDelta(sql: Sql, input: DeltaInput): Promise<DeltaResult> {
  const userId = await fence(sql, input.accountId, input.owner);
  await sql.rows(`SET LOCAL memgate.sync_apply = 'on'`);
  const result: DeltaResult = { userId, events: [], added: 0, moved: 0, flagged: 0, expunged: 0, skipped: 0, freedContentIds: [] };

  // Mailboxes of the folders involved, locked in id order (the store's lock order).
  const folderIds = new Set<string>();
  for (const c of input.changes) {
    if (c.kind === 'moved') {
      folderIds.add(c.fromFolderId);
      folderIds.add(c.toFolderId);
    } else folderIds.add(c.folderId);
  }
  const mailboxRows = await sql.rows<{ id: string; backend_id: string }>(
    'SELECT id, backend_id FROM mailboxes WHERE account_id = $1 AND backend_id = ANY($2::text[]) ORDER BY id FOR UPDATE',
    [input.accountId, [...folderIds]],
  );
  const mailboxOf = new Map(mailboxRows.map((m) => [m.backend_id, m.id]));

  // Everything known about the ids involved, in any folder.
  const ids = new Set<string>();
  for (const c of input.changes) {
    if (c.kind === 'created') ids.add(c.message.id);
    else ids.add(c.id);
    if (c.kind === 'moved' && c.toId) ids.add(c.toId);
  }
  const known = await sql.rows<{ folder_id: string; backend_id: string; state: 'present' | 'hidden'; mailbox_id: string | null; uid: number | null; content_id: string | null; flags: string[] | null }>(
    `SELECT b.folder_id, b.backend_id, b.state, b.mailbox_id, b.uid, b.content_id, mm.flags
       FROM backend_messages b LEFT JOIN mailbox_messages mm ON mm.mailbox_id = b.mailbox_id AND mm.uid = b.uid
      WHERE b.account_id = $1 AND b.backend_id = ANY($2::text[])`,
    [input.accountId, [...ids]],
  );
  const rows = new Map<string, Row>();
  const byId = new Map<string, Set<string>>();
  const index = (r: Row): void => {
    rows.set(key(r.folderId, r.id), r);
    byId.set(r.id, (byId.get(r.id) ?? new Set()).add(r.folderId));
  };
  const unindex = (r: Row): void => {
    rows.delete(key(r.folderId, r.id));
    byId.get(r.id)?.delete(r.folderId);
  };
  for (const k of known) {
    index({ folderId: k.folder_id, id: k.backend_id, state: k.state, mailboxId: k.mailbox_id, uid: k.uid, contentId: k.content_id, flags: k.flags ?? [] });
  }
  // Client flag changes not written back yet win over what the backend still reports.
  const queued = await sql.rows<{ folder_id: string; id: string }>(
    `SELECT op->>'folderId' AS folder_id, op->>'id' AS id FROM writeback_queue WHERE account_id = $1 AND op->>'kind' = 'flags'`,
    [input.accountId],
  );
  const pendingFlags = new Set(queued.map((q) => key(q.folder_id, q.id)));

  const news = new Map<string, NewMessage>(); // in arrival order
  const newUids = new Map<string, { uids: number[]; modseq: number }>();
  const flagUpdates = new Map<string, Map<number, string[]>>(); // mailbox -> uid -> flags
  const expunges = new Map<string, number[]>(); // mailbox -> uids
  const now = new Date();

  const reportFlags = (row: Row, reported: readonly string[] | undefined): void => {
    if (!reported || row.state !== 'present' || row.mailboxId === null || row.uid === null) return;
    if (pendingFlags.has(key(row.folderId, row.id))) return;
    const merged = mergeOwnedFlags(row.flags, reported, input.owns);
    if (sameFlags(merged, row.flags)) return;
    row.flags = merged;
    const m = flagUpdates.get(row.mailboxId) ?? new Map<number, string[]>();
    m.set(row.uid, merged);
    flagUpdates.set(row.mailboxId, m);
  };

  const flushNew = async (): Promise<void> => {
    if (news.size === 0) return;
    const batch = [...news.values()];
    news.clear();
    const byMailbox = new Map<string, NewMessage[]>();
    for (const n of batch) {
      const mailboxId = mailboxOf.get(n.folderId)!;
      byMailbox.set(mailboxId, [...(byMailbox.get(mailboxId) ?? []), n]);
    }
    for (const [mailboxId, list] of byMailbox) {
      const contentIds = (
        await sql.rows<{ id: string }>(`SELECT nextval('message_contents_id_seq')::text AS id FROM generate_series(1, $1)`, [list.length])
      ).map((r) => r.id);
      const raws = list.map((n) => input.bodies?.get(key(n.folderId, n.id)) ?? null);
      for (const [i, raw] of raws.entries()) if (raw) list[i].size = raw.length;
      await sql.rows(
        `INSERT INTO message_contents (id, user_id, raw, size, sha256) SELECT c.id, $1, c.raw, c.size, c.sha FROM unnest($2::bigint[], $3::int[], $4::bytea[], $5::text[]) AS c(id, size, raw, sha)`,
        [userId, contentIds, list.map((n) => n.size), raws, raws.map((r) => (r ? sha256Hex(r) : null))],
      );
      const { firstUid, modseq } = await allocate(sql, mailboxId, list.length);
      const uids = list.map((_, i) => firstUid + i);
      await sql.rows(
        `INSERT INTO mailbox_messages (mailbox_id, uid, user_id, content_id, modseq, flags, internal_date, size)
         SELECT $1, m.uid, $2, m.content_id, $3, ARRAY(SELECT jsonb_array_elements_text(m.flags)), m.internal_date, m.size
           FROM unnest($4::int[], $5::bigint[], $6::jsonb[], $7::timestamptz[], $8::int[]) AS m(uid, content_id, flags, internal_date, size)`,
        [mailboxId, userId, modseq, uids, contentIds, list.map((n) => JSON.stringify(n.flags)), list.map((n) => n.internalDate), list.map((n) => n.size)],
      );
      await sql.rows(
        `INSERT INTO backend_messages (account_id, backend_id, user_id, folder_id, mailbox_id, uid, content_id, state)
         SELECT $1, m.backend_id, $2, m.folder_id, $3, m.uid, m.content_id, 'present'
           FROM unnest($4::text[], $5::text[], $6::int[], $7::bigint[]) AS m(backend_id, folder_id, uid, content_id)`,
        [input.accountId, userId, mailboxId, list.map((n) => n.id), list.map((n) => n.folderId), uids, contentIds],
      );
      list.forEach((n, i) => index({ folderId: n.folderId, id: n.id, state: 'present', mailboxId, uid: uids[i], contentId: contentIds[i], flags: n.flags }));
      noteNew(mailboxId, uids, modseq);
      result.added += list.length;
    }
  };

  const noteNew = (mailboxId: string, uids: number[], modseq: number): void => {
    const e = newUids.get(mailboxId) ?? { uids: [], modseq: 0 };
    e.uids.push(...uids);
    e.modseq = Math.max(e.modseq, modseq);
    newUids.set(mailboxId, e);
  };

  const expunge = (row: Row): void => {
    if (row.mailboxId === null || row.uid === null) return;
    expunges.set(row.mailboxId, [...(expunges.get(row.mailboxId) ?? []), row.uid]);
    flagUpdates.get(row.mailboxId)?.delete(row.uid);
  };

  /** The same content under a new UID in the destination; the old UID is expunged. */
  const moveRow = async (row: Row, toFolderId: string, toId: string, flags: readonly string[] | undefined): Promise<void> => {
    const dest = mailboxOf.get(toFolderId)!;
    await flushNew();
    if (row.state === 'present' && row.mailboxId !== null && row.uid !== null) {
      const { firstUid, modseq } = await allocate(sql, dest, 1);
      const merged = flags ? mergeOwnedFlags(row.flags, flags, input.owns) : row.flags;
      const inserted = await sql.rows<{ uid: number }>(
        `INSERT INTO mailbox_messages (mailbox_id, uid, user_id, content_id, modseq, flags, internal_date, size)
         SELECT $1, $2, user_id, content_id, $3, $4, internal_date, size FROM mailbox_messages WHERE mailbox_id = $5 AND uid = $6
         RETURNING uid`,
        [dest, firstUid, modseq, merged, row.mailboxId, row.uid],
      );
      expunge(row);
      unindex(row);
      await sql.rows(
        `UPDATE backend_messages SET folder_id = $4, backend_id = $5, mailbox_id = $6, uid = $7 WHERE account_id = $1 AND folder_id = $2 AND backend_id = $3`,
        [input.accountId, row.folderId, row.id, toFolderId, toId, dest, inserted.length > 0 ? firstUid : null],
      );
      index({ ...row, folderId: toFolderId, id: toId, mailboxId: dest, uid: inserted.length > 0 ? firstUid : null, flags: merged });
      if (inserted.length > 0) noteNew(dest, [firstUid], modseq);
      result.moved++;
      return;
    }
    // Hidden (the client expunged it; the delete is queued): follow it, stay hidden.
    unindex(row);
    await sql.rows(`UPDATE backend_messages SET folder_id = $4, backend_id = $5 WHERE account_id = $1 AND folder_id = $2 AND backend_id = $3`, [
      input.accountId,
      row.folderId,
      row.id,
      toFolderId,
      toId,
    ]);
    index({ ...row, folderId: toFolderId, id: toId });
  };

  const forget = async (row: Row): Promise<void> => {
    if (row.state === 'present') expunge(row);
    unindex(row);
    await sql.rows('DELETE FROM backend_messages WHERE account_id = $1 AND folder_id = $2 AND backend_id = $3', [input.accountId, row.folderId, row.id]);
  };

  /** A present row of this id in another folder (backends without labels: one folder at a time). */
  const elsewhere = (id: string, folderId: string): Row | undefined => {
    if (input.labels) return undefined;
    for (const f of byId.get(id) ?? []) {
      if (f === folderId) continue;
      const r = rows.get(key(f, id));
      if (r && r.state === 'present' && r.mailboxId !== null) return r;
    }
    return undefined;
  };

  for (const c of input.changes) {
    switch (c.kind) {
      case 'created': {
        if (!mailboxOf.has(c.folderId)) {
          result.skipped++;
          break;
        }
        const k = key(c.folderId, c.message.id);
        const pending = news.get(k);
        if (pending) {
          if (c.message.flags) pending.flags = normaliseFlags(c.message.flags);
          break;
        }
        const row = rows.get(k);
        if (row) {
          reportFlags(row, c.message.flags);
          break;
        }
        const other = elsewhere(c.message.id, c.folderId);
        if (other) {
          await moveRow(other, c.folderId, c.message.id, c.message.flags);
          break;
        }
        news.set(k, {
          folderId: c.folderId,
          id: c.message.id,
          size: c.message.size,
          flags: normaliseFlags(c.message.flags ?? []),
          internalDate: c.message.internalDate ?? now,
        });
        break;
      }
      case 'flags': {
        const k = key(c.folderId, c.id);
        const pending = news.get(k);
        if (pending) pending.flags = normaliseFlags(c.flags);
        else {
          const row = rows.get(k);
          if (row) reportFlags(row, c.flags);
        }
        break;
      }
      case 'moved': {
        const toId = c.toId ?? c.id;
        if (!mailboxOf.has(c.toFolderId)) {
          result.skipped++;
          break;
        }
        const pending = news.get(key(c.fromFolderId, c.id));
        if (pending) {
          news.delete(key(c.fromFolderId, c.id));
          news.set(key(c.toFolderId, toId), { ...pending, folderId: c.toFolderId, id: toId, flags: c.flags ? normaliseFlags(c.flags) : pending.flags });
          break;
        }
        const row = rows.get(key(c.fromFolderId, c.id));
        const there = rows.get(key(c.toFolderId, toId));
        if (there) {
          // Already where it belongs (the echo of a client MOVE): only flags may be news.
          if (row && row !== there) await forget(row);
          reportFlags(there, c.flags);
          break;
        }
        if (row) await moveRow(row, c.toFolderId, toId, c.flags);
        break;
      }
      case 'deleted': {
        const k = key(c.folderId, c.id);
        if (news.delete(k)) break;
        const row = rows.get(k);
        if (row) await forget(row);
        break;
      }
      default: {
        const never: never = c;
        throw new Error(`unknown change ${JSON.stringify(never)}`);
      }
    }
  }
  await flushNew();

  // Flag changes: one new MODSEQ per mailbox (invariant 4).
  for (const [mailboxId, updates] of flagUpdates) {
    if (updates.size === 0) continue;
    const { modseq } = await allocate(sql, mailboxId, 0);
    const uids = [...updates.keys()];
    await sql.rows(
      `UPDATE mailbox_messages m SET flags = ARRAY(SELECT jsonb_array_elements_text(u.flags)), modseq = $2
         FROM unnest($3::int[], $4::jsonb[]) AS u(uid, flags) WHERE m.mailbox_id = $1 AND m.uid = u.uid`,
      [mailboxId, modseq, uids, uids.map((u) => JSON.stringify(updates.get(u)))],
    );
    result.flagged += uids.length;
    result.events.push({ kind: 'FlagsSet', userId, mailboxId, uids: uids.sort((a, b) => a - b), modseq });
  }
  // Expunges: one new MODSEQ per mailbox, logged for VANISHED.
  const freed = new Set<string>();
  for (const [mailboxId, uids] of expunges) {
    const deleted = await sql.rows<{ uid: number; content_id: string }>(
      'DELETE FROM mailbox_messages WHERE mailbox_id = $1 AND uid = ANY($2::int[]) RETURNING uid, content_id',
      [mailboxId, uids],
    );
    if (deleted.length === 0) continue;
    const { modseq } = await allocate(sql, mailboxId, 0);
    const gone = deleted.map((d) => d.uid).sort((a, b) => a - b);
    await sql.rows(
      `INSERT INTO expunge_log (mailbox_id, uid, user_id, modseq) SELECT $1, unnest($2::int[]), $3, $4 ON CONFLICT (mailbox_id, uid) DO NOTHING`,
      [mailboxId, gone, userId, modseq],
    );
    for (const d of deleted) freed.add(d.content_id);
    result.expunged += gone.length;
    result.events.push({ kind: 'MessageExpunge', userId, mailboxId, uids: gone, modseq });
  }
  for (const [mailboxId, e] of newUids) result.events.push({ kind: 'MessageNew', userId, mailboxId, uids: e.uids.sort((a, b) => a - b), modseq: e.modseq });
  result.freedContentIds = [...freed];

  for (const { folderId, cursor } of input.cursors) {
    await sql.rows(
      `UPDATE account_sync SET cursor = jsonb_set(coalesce(cursor, '{}'::jsonb), ARRAY[$2::text], to_jsonb($3::text)) WHERE account_id = $1`,
      [input.accountId, folderId, cursor],
    );
  }
  return result;
}

/** Which of these ids the store knows, and in which folders. */
export async function knownIds(sql: Sql, accountId: string, ids: readonly string[]): Promise<Array<{ folderId: string; id: string }>> {
  if (ids.length === 0) return [];
  const rows = await sql.rows<{ folder_id: string; backend_id: string }>('SELECT folder_id, backend_id FROM backend_messages WHERE account_id = $1 AND backend_id = ANY($2::text[])', [
    accountId,
    ids,
  ]);
  return rows.map((r) => ({ folderId: r.folder_id, id: r.backend_id }));
}
