// Applying what a backend reports to the shadow store (design guideline 5): idempotently,
// keyed by backend id, in one transaction per change set, fenced by the account's lease so
// that a process that lost its lease cannot apply anything. The sync engine's own removals
// set memgate.sync_apply so that the write-back trigger does not echo them to the backend.
import { createHash } from 'node:crypto';
import { MemgateError } from '../core/errors';
import { allocate } from './messages';
import { renewUidValidity } from './backend-renumber';
import { normaliseFlags, sameFlags } from './flags';
import type { Sql } from './sql';

/** The lease was lost (expired and taken by another process): nothing was applied. */
export class LeaseLostError extends MemgateError {}

export interface ListedForApply {
  id: string;
  size: number;
  internalDate?: Date;
  flags?: string[];
}

export interface KnownMessage {
  backendId: string;
  state: 'present' | 'hidden';
  mailboxId: string | null;
  uid: number | null;
  contentId: string | null;
  /** Of the cached body; null while it is not fetched. */
  sha256: string | null;
  /** The size clients were shown (RFC822.SIZE). */
  size: number | null;
  /** Of a header stored ahead of the body (header-first fetching), and its length. */
  headerSha256: string | null;
  headerLength: number | null;
}

/**
 * What a listed message's fetched body says about its identity: its hash, and the hashes of
 * its first n bytes for the header lengths of vanished messages known by header only.
 */
export interface BodyFingerprint {
  sha256: string;
  size: number;
  /** header length -> SHA-256 of the body's first that many bytes. */
  prefixes: ReadonlyMap<number, string>;
}

export function fingerprint(raw: Buffer, headerLengths: Iterable<number> = []): BodyFingerprint {
  const prefixes = new Map<number, string>();
  for (const n of headerLengths) if (n <= raw.length) prefixes.set(n, sha256Hex(raw.subarray(0, n)));
  return { sha256: sha256Hex(raw), size: raw.length, prefixes };
}

export interface SnapshotInput {
  accountId: string;
  owner: string;
  folderId: string;
  messages: readonly ListedForApply[];
  /** Bodies already fetched for some of the listed messages (by backend id). */
  bodies: ReadonlyMap<string, Buffer>;
  /**
   * Fingerprints of listed messages fetched to recognise vanished ones (those whose body
   * was not kept in `bodies`, too); by backend id.
   */
  fingerprints?: ReadonlyMap<string, BodyFingerprint>;
  /** The adapter's cursor for this folder, saved with the changes it describes. */
  cursor?: string | null;
  /** Flags the backend keeps: listed flags of known messages update these (a full resync). */
  owns?: (flag: string) => boolean;
}

export interface SnapshotResult {
  userId: string;
  mailboxId: string;
  added: { uids: number[]; modseq: number };
  expunged: { uids: number[]; modseq: number };
  /** Listed ids recognised by content as messages already shown under another id. */
  rebound: number;
  /** Hidden messages that left the backend (their rows are forgotten). */
  forgotten: number;
  /** Contents freed by expunges, for garbage collection after the commit. */
  freedContentIds: string[];
  /** True when every id known before vanished and none of the listed ones was known. */
  renumbered: boolean;
  /** Known messages whose owned flags the listing changed. */
  flagged: { uids: number[]; modseq: number };
  /**
   * Set when the backend renumbered every id and some messages shown could not be
   * recognised: the mailbox got a new UIDVALIDITY (every message a new UID).
   */
  uidValidity: { from: number; to: number; unrecognised: number } | null;
}

export const sha256Hex = (raw: Buffer): string => createHash('sha256').update(raw).digest('hex');

/** Locks the account's sync row if this owner still holds the lease; returns its user. */
export async function fence(sql: Sql, accountId: string, owner: string): Promise<string> {
  const [row] = await sql.rows<{ user_id: string }>(
    `SELECT user_id FROM account_sync WHERE account_id = $1 AND lease_owner = $2 AND lease_expires > now() FOR UPDATE`,
    [accountId, owner],
  );
  if (!row) throw new LeaseLostError(`lease on account ${accountId} lost`);
  return row.user_id;
}

export async function knownMessages(sql: Sql, accountId: string, folderId: string): Promise<KnownMessage[]> {
  const rows = await sql.rows<{
    backend_id: string;
    state: 'present' | 'hidden';
    mailbox_id: string | null;
    uid: number | null;
    content_id: string | null;
    sha256: string | null;
    size: number | null;
    header_sha: string | null;
    header_length: number | null;
  }>(
    `SELECT b.backend_id, b.state, b.mailbox_id, b.uid, b.content_id, c.sha256, c.size,
            encode(sha256(c.header), 'hex') AS header_sha, length(c.header) AS header_length
       FROM backend_messages b LEFT JOIN message_contents c ON c.id = b.content_id
      WHERE b.account_id = $1 AND b.folder_id = $2 AND b.backend_id NOT LIKE 'pending:%'`,
    [accountId, folderId],
  );
  return rows.map((r) => ({
    backendId: r.backend_id,
    state: r.state,
    mailboxId: r.mailbox_id,
    uid: r.uid,
    contentId: r.content_id,
    sha256: r.sha256,
    size: r.size,
    headerSha256: r.header_sha,
    headerLength: r.header_length,
  }));
}

/** Which listed ids are new and which known ids vanished (read before fetching bodies). */
export function diffListing(known: readonly KnownMessage[], listed: readonly { id: string }[]): { added: string[]; vanished: KnownMessage[] } {
  const knownIds = new Set(known.map((k) => k.backendId));
  const listedIds = new Set(listed.map((l) => l.id));
  return { added: listed.filter((l) => !knownIds.has(l.id)).map((l) => l.id), vanished: known.filter((k) => !listedIds.has(k.backendId)) };
}

/** Reconciles one backend folder with a full listing of it, in one transaction. */
export async function applySnapshot(sql: Sql, input: SnapshotInput): Promise<SnapshotResult> {
  const userId = await fence(sql, input.accountId, input.owner);
  await sql.rows(`SET LOCAL memgate.sync_apply = 'on'`);
  const [mailbox] = await sql.rows<{ id: string }>(
    'SELECT id FROM mailboxes WHERE account_id = $1 AND backend_id = $2 FOR UPDATE',
    [input.accountId, input.folderId],
  );
  if (!mailbox) throw new MemgateError(`account ${input.accountId} has no mailbox for backend folder ${input.folderId}`);
  const known = await knownMessages(sql, input.accountId, input.folderId);
  const { added, vanished } = diffListing(known, input.messages);
  const renumbered = known.length > 0 && vanished.length === known.length && added.length === input.messages.length && added.length > 0;

  // A vanished message whose content reappears under a new id is the same message: the
  // id changes, the UID does not (invariant 1: match by content, never by position). One
  // known by its header only (body not fetched yet) is recognised by what clients may have
  // seen of it, all of it: the header bytes and the size.
  const vanishedByHash = new Map<string, KnownMessage[]>();
  const vanishedByHeader = new Map<string, KnownMessage[]>();
  const push = (map: Map<string, KnownMessage[]>, k: string, v: KnownMessage) => map.set(k, [...(map.get(k) ?? []), v]);
  for (const v of vanished) {
    if (v.sha256) push(vanishedByHash, v.sha256, v);
    else if (v.headerSha256 && v.headerLength !== null) push(vanishedByHeader, `${v.size}:${v.headerLength}:${v.headerSha256}`, v);
  }
  const stillAdded: string[] = [];
  const rebound = new Set<string>();
  for (const id of added) {
    const raw = input.bodies.get(id);
    const fp = input.fingerprints?.get(id) ?? (raw ? fingerprint(raw) : undefined);
    let match = fp ? vanishedByHash.get(fp.sha256)?.shift() : undefined;
    if (!match && fp) {
      for (const [length, sha] of fp.prefixes) {
        match = vanishedByHeader.get(`${fp.size}:${length}:${sha}`)?.shift();
        if (match) break;
      }
    }
    if (!match) {
      stillAdded.push(id);
      continue;
    }
    await sql.rows('UPDATE backend_messages SET backend_id = $3 WHERE account_id = $1 AND folder_id = $4 AND backend_id = $2', [input.accountId, match.backendId, id, input.folderId]);
    rebound.add(match.backendId);
  }

  // Vanished for good: expunge what is shown, forget the rows.
  const gone = vanished.filter((v) => !rebound.has(v.backendId));
  const shownUids = gone.filter((v) => v.state === 'present' && v.mailboxId === mailbox.id && v.uid !== null).map((v) => v.uid!);
  const expunged = { uids: [] as number[], modseq: 0 };
  let freedContentIds: string[] = [];
  if (shownUids.length > 0) {
    const deleted = await sql.rows<{ uid: number; content_id: string }>(
      'DELETE FROM mailbox_messages WHERE mailbox_id = $1 AND uid = ANY($2::int[]) RETURNING uid, content_id',
      [mailbox.id, shownUids],
    );
    if (deleted.length > 0) {
      const { modseq } = await allocate(sql, mailbox.id, 0);
      expunged.uids = deleted.map((d) => d.uid).sort((a, b) => a - b);
      expunged.modseq = modseq;
      await sql.rows(
        `INSERT INTO expunge_log (mailbox_id, uid, user_id, modseq) SELECT $1, unnest($2::int[]), $3, $4 ON CONFLICT (mailbox_id, uid) DO NOTHING`,
        [mailbox.id, expunged.uids, userId, modseq],
      );
      freedContentIds = [...new Set(deleted.map((d) => d.content_id))];
    }
  }
  if (gone.length > 0) {
    await sql.rows('DELETE FROM backend_messages WHERE account_id = $1 AND folder_id = $3 AND backend_id = ANY($2::text[])', [input.accountId, gone.map((g) => g.backendId), input.folderId]);
  }

  // New ones, in the backend's order: UIDs ascend in the order the gateway learned of them.
  const addedUids: number[] = [];
  let addedModseq = 0;
  if (stillAdded.length > 0) {
    const byId = new Map(input.messages.map((m) => [m.id, m]));
    const ids = await sql.rows<{ id: string }>(`SELECT nextval('message_contents_id_seq')::text AS id FROM generate_series(1, $1)`, [stillAdded.length]);
    const contentIds = ids.map((r) => r.id);
    const raws = stillAdded.map((id) => input.bodies.get(id) ?? null);
    const sizes = stillAdded.map((id, i) => raws[i]?.length ?? byId.get(id)!.size);
    await sql.rows(
      `INSERT INTO message_contents (id, user_id, raw, size, sha256)
       SELECT c.id, $1, c.raw, c.size, c.sha FROM unnest($2::bigint[], $3::bytea[], $4::int[], $5::text[]) AS c(id, raw, size, sha)`,
      [userId, contentIds, raws, sizes, raws.map((r) => (r ? sha256Hex(r) : null))],
    );
    const { firstUid, modseq } = await allocate(sql, mailbox.id, stillAdded.length);
    addedModseq = modseq;
    for (let i = 0; i < stillAdded.length; i++) addedUids.push(firstUid + i);
    const now = new Date();
    await sql.rows(
      `INSERT INTO mailbox_messages (mailbox_id, uid, user_id, content_id, modseq, flags, internal_date, size)
       SELECT $1, m.uid, $2, m.content_id, $3, ARRAY(SELECT jsonb_array_elements_text(m.flags)), m.internal_date, m.size
         FROM unnest($4::int[], $5::bigint[], $6::timestamptz[], $7::int[], $8::jsonb[]) AS m(uid, content_id, internal_date, size, flags)`,
      [mailbox.id, userId, modseq, addedUids, contentIds, stillAdded.map((id) => byId.get(id)!.internalDate ?? now), sizes, stillAdded.map((id) => JSON.stringify(normaliseFlags(byId.get(id)!.flags ?? [])))],
    );
    await sql.rows(
      `INSERT INTO backend_messages (account_id, backend_id, user_id, folder_id, mailbox_id, uid, content_id, state)
       SELECT $1, m.backend_id, $2, $3, $4, m.uid, m.content_id, 'present'
         FROM unnest($5::text[], $6::int[], $7::bigint[]) AS m(backend_id, uid, content_id)`,
      [input.accountId, userId, input.folderId, mailbox.id, stillAdded, addedUids, contentIds],
    );
  }
  // Every id renumbered and some message shown not recognised: its UID names nothing
  // certain any more, which is the one case for a new UIDVALIDITY (invariant 2).
  const unrecognised = gone.filter((g) => g.state === 'present' && g.mailboxId === mailbox.id && g.uid !== null).length;
  let uidValidity: SnapshotResult['uidValidity'] = null;
  if (renumbered && unrecognised > 0) {
    const reason = `backend renumbered every message id; ${unrecognised} of ${known.length} known messages could not be recognised (bodies not fetched yet)`;
    const renewal = await renewUidValidity(sql, userId, mailbox.id, reason);
    // What clients were shown before this transaction leaves; everything arrives anew.
    const firstAdded = addedUids[0] ?? Infinity;
    expunged.uids = [...new Set([...expunged.uids, ...renewal.oldUids.filter((u) => u < firstAdded)])].sort((a, b) => a - b);
    expunged.modseq = renewal.modseq;
    addedUids.splice(0, addedUids.length, ...renewal.newUids);
    addedModseq = renewal.modseq;
    uidValidity = { from: renewal.from, to: renewal.to, unrecognised };
  }
  const flagged = input.owns ? await refreshOwnedFlags(sql, input.accountId, mailbox.id, input.messages, input.owns) : { uids: [], modseq: 0 };
  await sql.rows(
    `UPDATE account_sync SET cursor = jsonb_set(coalesce(cursor, '{}'::jsonb), ARRAY[$2::text], to_jsonb($3::text)) WHERE account_id = $1`,
    [input.accountId, input.folderId, input.cursor ?? null],
  );
  return {
    flagged,
    userId,
    mailboxId: mailbox.id,
    added: { uids: addedUids, modseq: addedModseq },
    expunged,
    rebound: rebound.size,
    forgotten: gone.filter((g) => g.state === 'hidden').length,
    freedContentIds,
    renumbered,
    uidValidity,
  };
}

export interface UncachedBody {
  backendId: string;
  folderId: string;
  contentId: string;
  /** Its header section is stored already (header-first fetching). */
  hasHeader: boolean;
}

/** Backend messages whose body is not cached, newest (highest UID) first. */
export async function uncachedBodies(sql: Sql, accountId: string, limit: number): Promise<UncachedBody[]> {
  // The uncached contents come from their partial index (message_contents_uncached_idx),
  // once, as an array: once everything is cached this reads nothing, however large the
  // account, and no join order can go wrong on statistics that a bulk insert made stale.
  const rows = await sql.rows<{ backend_id: string; folder_id: string; content_id: string; has_header: boolean }>(
    `SELECT b.backend_id, b.folder_id, b.content_id,
            EXISTS (SELECT 1 FROM message_contents c WHERE c.id = b.content_id AND c.header IS NOT NULL) AS has_header
       FROM backend_messages b
      WHERE b.account_id = $1 AND b.content_id = ANY (ARRAY(
              SELECT c.id FROM message_contents c
               WHERE c.raw IS NULL AND c.user_id = (SELECT user_id FROM account_sync WHERE account_id = $1)))
      ORDER BY b.uid DESC NULLS LAST LIMIT $2`,
    [accountId, limit],
  );
  return rows.map((r) => ({ backendId: r.backend_id, folderId: r.folder_id, contentId: r.content_id, hasHeader: r.has_header }));
}

/** A fetched body that does not fit what clients may have been shown already. */
export interface BodyMismatch {
  contentId: string;
  /** The size announced (RFC822.SIZE) and the fetched length. */
  announced: number;
  actual: number;
  /** A header section stored first (TOP) is not how the fetched body starts. */
  headerDiffers: boolean;
}

/**
 * Headers fetched ahead of their bodies (POP3 TOP n 0); only for contents that have
 * neither yet. Each header goes as one binary parameter (see storeBodies).
 */
export async function storeHeaders(sql: Sql, headers: ReadonlyArray<{ contentId: string; header: Buffer }>): Promise<void> {
  if (headers.length === 0) return;
  const params: unknown[] = [];
  const values = headers.map((h) => {
    params.push(h.contentId, h.header);
    return `($${params.length - 1}::bigint, $${params.length}::bytea)`;
  });
  await sql.rows(
    `UPDATE message_contents c SET header = h.header FROM (VALUES ${values.join(', ')}) AS h(id, header)
      WHERE c.id = h.id AND c.raw IS NULL AND c.header IS NULL`,
    params,
  );
}

/**
 * Caches fetched bodies. A content is written once (invariant 3); the size the client was
 * shown stays, and a header stored first is dropped (the body starts with it). Returns
 * the contents whose body does not match what was announced or shown before.
 */
export async function storeBodies(sql: Sql, bodies: ReadonlyArray<{ contentId: string; raw: Buffer; internalDate?: Date }>): Promise<BodyMismatch[]> {
  if (bodies.length === 0) return [];
  // One parameter per body: node-pg sends a Buffer parameter in binary, while a bytea[]
  // array would go as hex text (twice the bytes, parsed again by the server).
  const params: unknown[] = [];
  const values = bodies.map((b) => {
    params.push(b.contentId, b.raw, sha256Hex(b.raw));
    const n = params.length;
    return `($${n - 2}::bigint, $${n - 1}::bytea, $${n}::text)`;
  });
  // `o` is the row as it was: RETURNING sees the header that was stored before.
  const rows = await sql.rows<{ id: string; size: number; actual: number; header_differs: boolean }>(
    `UPDATE message_contents c SET raw = b.raw, sha256 = b.sha, header = NULL
       FROM (VALUES ${values.join(', ')}) AS b(id, raw, sha) JOIN message_contents o ON o.id = b.id
      WHERE c.id = b.id AND c.raw IS NULL
      RETURNING c.id, c.size, length(b.raw) AS actual,
                (o.header IS NOT NULL AND substring(b.raw FROM 1 FOR length(o.header)) <> o.header) AS header_differs`,
    params,
  );
  // A size the backend did not announce (0) is corrected: nothing real was shown yet.
  const unknown = rows.filter((r) => r.size === 0 && r.actual > 0);
  if (unknown.length > 0) {
    await sql.rows(
      `UPDATE message_contents c SET size = u.size FROM unnest($1::bigint[], $2::int[]) AS u(id, size) WHERE c.id = u.id`,
      [unknown.map((u) => u.id), unknown.map((u) => u.actual)],
    );
    // So is the date of a message listed without one (Gmail lists ids only; its raw format
    // names the date): the row got the time of the listing as a stand-in.
    const dateOf = new Map(bodies.filter((b) => b.internalDate && !Number.isNaN(b.internalDate.getTime())).map((b) => [String(b.contentId), b.internalDate!]));
    await sql.rows(
      `UPDATE mailbox_messages m SET size = u.size, internal_date = COALESCE(u.date, m.internal_date)
         FROM unnest($1::bigint[], $2::int[], $3::timestamptz[]) AS u(id, size, date) WHERE m.content_id = u.id AND m.size = 0`,
      [unknown.map((u) => u.id), unknown.map((u) => u.actual), unknown.map((u) => dateOf.get(String(u.id)) ?? null)],
    );
  }
  return rows
    .filter((r) => (r.size !== r.actual && r.size !== 0) || r.header_differs)
    .map((r) => ({ contentId: r.id, announced: r.size, actual: r.actual, headerDiffers: r.header_differs }));
}

/** Which backend message a content is (for fetching a body on demand). */
export async function contentOrigin(sql: Sql, userId: string, contentId: string): Promise<{ accountId: string; folderId: string; backendId: string } | null> {
  const [row] = await sql.rows<{ account_id: string; folder_id: string; backend_id: string }>(
    `SELECT account_id, folder_id, backend_id FROM backend_messages WHERE content_id = $1 AND user_id = $2 ORDER BY state LIMIT 1`,
    [contentId, userId],
  );
  return row ? { accountId: row.account_id, folderId: row.folder_id, backendId: row.backend_id } : null;
}

export async function bodyCached(sql: Sql, contentId: string): Promise<Buffer | null> {
  const [row] = await sql.rows<{ raw: Buffer | null }>('SELECT raw FROM message_contents WHERE id = $1', [contentId]);
  return row?.raw ?? null;
}

// --- leases and schedule ---

/** Takes every free or expired lease and renews this owner's; returns the accounts held. */
export async function claimLeases(sql: Sql, owner: string, seconds: number): Promise<string[]> {
  await sql.rows(
    `UPDATE account_sync s SET lease_owner = $1, lease_expires = now() + make_interval(secs => $2)
       FROM (SELECT account_id FROM account_sync
              WHERE lease_owner IS NULL OR lease_owner = $1 OR lease_expires < now()
              FOR UPDATE SKIP LOCKED) c
      WHERE s.account_id = c.account_id`,
    [owner, seconds],
  );
  const held = await sql.rows<{ account_id: string }>(
    'SELECT account_id FROM account_sync WHERE lease_owner = $1 AND lease_expires > now() ORDER BY account_id',
    [owner],
  );
  return held.map((h) => h.account_id);
}

/** The adapter cursor saved for a folder by the last applied change set. */
export async function folderCursor(sql: Sql, accountId: string, folderId: string): Promise<string | null> {
  const [row] = await sql.rows<{ cursor: string | null }>(`SELECT cursor ->> $2 AS cursor FROM account_sync WHERE account_id = $1`, [accountId, folderId]);
  return row?.cursor ?? null;
}

export async function releaseLeases(sql: Sql, owner: string): Promise<void> {
  await sql.rows('UPDATE account_sync SET lease_owner = NULL, lease_expires = NULL WHERE lease_owner = $1', [owner]);
}

export async function setSyncState(
  sql: Sql,
  accountId: string,
  owner: string,
  change: { state: 'syncing' | 'idle' | 'degraded' | 'auth'; reason: string | null; nextRunAt?: Date; success?: boolean; failed?: boolean },
): Promise<void> {
  await sql.rows(
    `UPDATE account_sync SET state = $3, reason = $4, updated_at = now(), last_attempt_at = now(),
            next_run_at = coalesce($5, next_run_at),
            last_success_at = CASE WHEN $6 THEN now() ELSE last_success_at END,
            failures = CASE WHEN $6 THEN 0 WHEN $7 THEN failures + 1 ELSE failures END
      WHERE account_id = $1 AND lease_owner = $2`,
    [accountId, owner, change.state, change.reason, change.nextRunAt ?? null, change.success ?? false, change.failed ?? false],
  );
}

// --- write-back queue ---

export interface QueuedOp {
  id: string;
  op: Record<string, unknown>;
  attempts: number;
}

export async function pendingOps(sql: Sql, accountId: string, limit: number): Promise<QueuedOp[]> {
  const rows = await sql.rows<{ id: string; op: Record<string, unknown>; attempts: number }>(
    'SELECT id, op, attempts FROM writeback_queue WHERE account_id = $1 AND next_attempt_at <= now() ORDER BY id LIMIT $2',
    [accountId, limit],
  );
  return rows;
}

export async function completeOps(sql: Sql, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await sql.rows('DELETE FROM writeback_queue WHERE id = ANY($1::bigint[])', [ids]);
}

export async function failOp(sql: Sql, id: string, error: string, retryInSeconds: number): Promise<void> {
  await sql.rows(
    `UPDATE writeback_queue SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1`,
    [id, error.slice(0, 500), retryInSeconds],
  );
}

/** The content of a backend message if some mailbox still shows it and it is not cached. */
export async function bodyNeededBeforeDelete(sql: Sql, accountId: string, backendId: string): Promise<string | null> {
  const [row] = await sql.rows<{ content_id: string }>(
    `SELECT b.content_id FROM backend_messages b JOIN message_contents c ON c.id = b.content_id
      WHERE b.account_id = $1 AND b.backend_id = $2 AND c.raw IS NULL
        AND EXISTS (SELECT 1 FROM mailbox_messages m WHERE m.content_id = b.content_id)`,
    [accountId, backendId],
  );
  return row?.content_id ?? null;
}

/** After a full listing: owned flags of messages already shown follow the backend (unless a client change is queued). */
async function refreshOwnedFlags(
  sql: Sql,
  accountId: string,
  mailboxId: string,
  messages: readonly ListedForApply[],
  owns: (flag: string) => boolean,
): Promise<{ uids: number[]; modseq: number }> {
  const listed = new Map(messages.filter((m) => m.flags).map((m) => [m.id, m.flags!]));
  if (listed.size === 0) return { uids: [], modseq: 0 };
  const rows = await sql.rows<{ backend_id: string; uid: number; flags: string[] }>(
    `SELECT b.backend_id, mm.uid, mm.flags FROM backend_messages b JOIN mailbox_messages mm ON mm.mailbox_id = b.mailbox_id AND mm.uid = b.uid
      WHERE b.account_id = $1 AND b.mailbox_id = $2 AND b.state = 'present'
        AND NOT EXISTS (SELECT 1 FROM writeback_queue q WHERE q.account_id = $1 AND q.op->>'kind' = 'flags' AND q.op->>'id' = b.backend_id)`,
    [accountId, mailboxId],
  );
  const updates: Array<{ uid: number; flags: string[] }> = [];
  for (const r of rows) {
    const reported = listed.get(r.backend_id);
    if (!reported) continue;
    const merged = normaliseFlags([...r.flags.filter((f) => !owns(f)), ...reported.filter((f) => owns(f))]);
    if (!sameFlags(merged, r.flags)) updates.push({ uid: r.uid, flags: merged });
  }
  if (updates.length === 0) return { uids: [], modseq: 0 };
  const { modseq } = await allocate(sql, mailboxId, 0);
  await sql.rows(
    `UPDATE mailbox_messages m SET flags = ARRAY(SELECT jsonb_array_elements_text(u.flags)), modseq = $2
       FROM unnest($3::int[], $4::jsonb[]) AS u(uid, flags) WHERE m.mailbox_id = $1 AND m.uid = u.uid`,
    [mailboxId, modseq, updates.map((u) => u.uid), updates.map((u) => JSON.stringify(u.flags))],
  );
  return { uids: updates.map((u) => u.uid).sort((a, b) => a - b), modseq };
}
