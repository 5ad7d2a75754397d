// Change cursors (Graph delta, Gmail history): each folder's changes since its cursor are
// collected and applied in one transaction with the new cursors, so a crash repeats a
// round instead of losing or doubling it. Pages (`more`) are applied as they come, so a
// first sync of a large folder shows mail before it ends. A lost cursor comes back as a
// snapshot, reconciled by backend id with every known UID kept (invariant 1).
import type { BackendAdapter, BackendChange, BackendSession } from '../../adapters/contract';
import type { PgBackendSync } from '../store/pg-backend-sync';
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
  const apply = async (changes: BackendChange[], folderCursors: Array<{ folderId: string; cursor: string | null }>): Promise<void> => {
    const r = await c.store.applyDelta({ accountId: c.accountId, owner: c.owner, changes: ordered(changes, labels), cursors: folderCursors, owns, labels });
    if (r.added + r.moved + r.flagged + r.expunged > 0) {
      c.log.info({ accountId: c.accountId, added: r.added, moved: r.moved, flagged: r.flagged, expunged: r.expunged, skipped: r.skipped }, 'sync: applied');
    }
  };
  for (const folderId of folderIds) {
    let cursor = await c.store.folderCursor(c.accountId, folderId);
    for (;;) {
      if (c.stopped()) return;
      const set = await c.session.changes(folderId, cursor);
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
  if (combined.length > 0 || cursorsMoved) await apply(combined, cursors);
}
