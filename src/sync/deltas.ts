// Change cursors (Graph delta, Gmail history): each folder's changes since its cursor are
// collected and applied in one transaction with the new cursors, so a crash repeats a
// round instead of losing or doubling it. Pages (`more`) are applied as they come, so a
// first sync of a large folder shows mail before it ends. A lost cursor comes back as a
// snapshot, reconciled by backend id with every known UID kept (invariant 1).
import type { BackendAdapter, BackendChange, BackendSession } from '../../adapters/contract';
import type { PgBackendSync } from '../store/pg-backend-sync';
import { key } from '../store/backend-deltas';
import type { SyncLogger } from './runner';

export interface CursorSyncContext {
  accountId: string;
  owner: string;
  store: PgBackendSync;
  adapter: BackendAdapter;
  session: BackendSession;
  log: SyncLogger;
  stopped: () => boolean;
}

/**
 * Without labels a message is in one folder at a time: a move shows as removed here and
 * created there, in whichever order the folders are read. Creations first, so the engine
 * sees the move (and keeps the content and its cached body) rather than a loss and a gain.
 */
function ordered(changes: BackendChange[], labels: boolean): BackendChange[] {
  if (labels) return changes;
  return [...changes.filter((c) => c.kind !== 'deleted'), ...changes.filter((c) => c.kind === 'deleted')];
}

export async function syncCursorFolders(c: CursorSyncContext, folderIds: readonly string[]): Promise<void> {
  const owns = c.adapter.ownsFlag ?? ((): boolean => false);
  const labels = c.adapter.capabilities.labels;
  const combined: BackendChange[] = [];
  const cursors: Array<{ folderId: string; cursor: string | null }> = [];
  let cursorsMoved = false;
  const apply = async (changes: BackendChange[], folderCursors: Array<{ folderId: string; cursor: string | null }>, bodies?: Map<string, Buffer>): Promise<void> => {
    const r = await c.store.applyDelta({ accountId: c.accountId, owner: c.owner, changes: ordered(changes, labels), cursors: folderCursors, owns, labels, bodies });
    if (r.added + r.moved + r.flagged + r.expunged > 0) {
      c.log.info({ accountId: c.accountId, added: r.added, moved: r.moved, flagged: r.flagged, expunged: r.expunged, skipped: r.skipped }, 'sync: applied');
    }
  };
  if (c.session.prefetchChanges && folderIds.length > 1) {
    // The first page of every folder in as few round trips as the adapter can (Graph $batch).
    await c.session.prefetchChanges(await Promise.all(folderIds.map(async (folderId) => ({ folderId, cursor: await c.store.folderCursor(c.accountId, folderId) }))));
  }
  for (const folderId of folderIds) {
    let cursor = await c.store.folderCursor(c.accountId, folderId);
    for (;;) {
      if (c.stopped()) return;
      const set = await c.session.changes(folderId, cursor, async () => new Set((await c.store.knownMessages(c.accountId, folderId)).map((k) => k.backendId)));
      if (set.kind === 'snapshot') {
        const r = await c.store.applySnapshot({ accountId: c.accountId, owner: c.owner, folderId, messages: set.messages, bodies: new Map(), cursor: set.cursor, owns });
        c.log.warn(
          { accountId: c.accountId, folderId, reason: set.reason ?? 'full listing', added: r.added.uids.length, expunged: r.expunged.uids.length, flagged: r.flagged.uids.length },
          'sync: folder resynchronised from a full listing; known messages kept their UIDs',
        );
        break;
      }
      if (set.more) {
        await apply(set.changes, [{ folderId, cursor: set.cursor }]);
        cursor = set.cursor;
        continue;
      }
      combined.push(...set.changes);
      cursors.push({ folderId, cursor: set.cursor });
      if (set.cursor !== cursor) cursorsMoved = true;
      break;
    }
  }
  if (combined.length > 0 || cursorsMoved) await apply(combined, cursors, await prefetch(c, combined));
}

/** New messages in a delta this small are fetched before they are shown. */
const PREFETCH_LIMIT = 50;

/**
 * Bodies of the new messages of a small delta (new mail arriving): fetched before they are
 * announced, so the client's first look sees the final size and content (invariant 3) and
 * reading needs no further round trip. Large deltas (a first sync) go metadata first.
 */
async function prefetch(c: CursorSyncContext, changes: readonly BackendChange[]): Promise<Map<string, Buffer>> {
  const bodies = new Map<string, Buffer>();
  const created = changes.filter((x): x is Extract<BackendChange, { kind: 'created' }> => x.kind === 'created');
  if (created.length === 0) return bodies;
  const known = await c.store.knownIds(c.accountId, created.map((x) => x.message.id));
  const labels = c.adapter.capabilities.labels;
  const knownKeys = new Set(known.map((k) => (labels ? key(k.folderId, k.id) : k.id)));
  const fresh = created.filter((x) => !knownKeys.has(labels ? key(x.folderId, x.message.id) : x.message.id));
  if (fresh.length === 0 || fresh.length > PREFETCH_LIMIT) return bodies;
  const byFolder = new Map<string, string[]>();
  for (const x of fresh) byFolder.set(x.folderId, [...(byFolder.get(x.folderId) ?? []), x.message.id]);
  for (const [folderId, ids] of byFolder) {
    try {
      await c.session.fetchRaw(folderId, ids, async (id, raw) => {
        bodies.set(key(folderId, id), raw);
      });
    } catch (err) {
      // The listing is still worth applying; these bodies come later, on demand or in the fill.
      c.log.debug({ accountId: c.accountId, err }, 'sync: prefetching new bodies failed');
    }
  }
  return bodies;
}
