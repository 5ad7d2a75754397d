// The expunge log (design invariant 4): every expunged UID with the modseq of its expunge,
// so QRESYNC can answer VANISHED (EARLIER). Entries older than the retention setting are
// trimmed; the mailbox's `expunge_log_floor` remembers the highest modseq forgotten, and a
// question from below it is answered as incomplete (RFC 7162 3.2.5.2: more, never fewer).
import type { ExpungedSince, UidRanges } from '../core/ports';
import type { Sql } from './sql';

const MAX_UID = 2147483647;

/** Logged expunges above `since` (restricted to `ranges` when given); run in one snapshot. */
export async function expungedSince(sql: Sql, mailboxId: string, since: number, ranges: UidRanges | null): Promise<ExpungedSince> {
  const [row] = await sql.rows<{ floor: string }>('SELECT expunge_log_floor AS floor FROM mailboxes WHERE id = $1', [mailboxId]);
  const complete = since >= Number(row?.floor ?? 0);
  const lo: number[] = [];
  const hi: number[] = [];
  for (const [a, b] of ranges ?? [[1, MAX_UID]]) {
    if (b < 1 || a > MAX_UID) continue;
    lo.push(Math.max(1, a));
    hi.push(Math.min(MAX_UID, b));
  }
  if (lo.length === 0) return { uids: [], complete };
  const rows = await sql.rows<{ uid: number }>(
    `SELECT uid FROM expunge_log e
      WHERE e.mailbox_id = $1 AND e.modseq > $2
        AND EXISTS (SELECT 1 FROM unnest($3::int[], $4::int[]) AS r(lo, hi) WHERE e.uid BETWEEN r.lo AND r.hi)
      ORDER BY uid`,
    [mailboxId, Math.max(0, Math.floor(since)), lo, hi],
  );
  return { uids: rows.map((r) => r.uid), complete };
}

/**
 * UIDs up to `lastUid` that are not in the mailbox: what a view must drop when the log no
 * longer reaches back to its modseq. Rare (a session would have to sleep through the whole
 * retention time), so a plain series is good enough.
 */
export async function absentUids(sql: Sql, mailboxId: string, lastUid: number): Promise<number[]> {
  if (lastUid < 1) return [];
  const rows = await sql.rows<{ uid: number }>(
    `SELECT s.uid FROM generate_series(1, $2::int) AS s(uid)
      WHERE NOT EXISTS (SELECT 1 FROM mailbox_messages m WHERE m.mailbox_id = $1 AND m.uid = s.uid)
      ORDER BY s.uid`,
    [mailboxId, Math.min(lastUid, MAX_UID)],
  );
  return rows.map((r) => r.uid);
}

/** Deletes entries logged before `olderThan` and raises the floors of their mailboxes. */
export async function trimExpungeLog(sql: Sql, olderThan: Date): Promise<number> {
  const rows = await sql.rows<{ n: string }>(
    `WITH gone AS (
       DELETE FROM expunge_log WHERE expunged_at < $1 RETURNING mailbox_id, modseq
     ), tops AS (
       SELECT mailbox_id, max(modseq) AS top, count(*) AS n FROM gone GROUP BY mailbox_id
     ), raised AS (
       UPDATE mailboxes m SET expunge_log_floor = GREATEST(m.expunge_log_floor, t.top)
         FROM tops t WHERE m.id = t.mailbox_id RETURNING m.id
     )
     SELECT coalesce(sum(n), 0) AS n FROM tops`,
    [olderThan],
  );
  return Number(rows[0]?.n ?? 0);
}
