// Shared by EXPUNGE, UID EXPUNGE and CLOSE: remove the messages that carry \Deleted now,
// as the store sees them (another session may have set the flag a moment ago).
import type { Session } from './session';

/** Expunges \Deleted messages (only those in `onlyUids` when given); returns the UIDs removed. */
export async function expungeDeleted(session: Session, onlyUids: Set<number> | null): Promise<number[]> {
  const sel = session.selected!;
  const userId = session.user!.id;
  const doomed = (await session.ctx.store.deletedUids(userId, sel.id)).filter((uid) => onlyUids === null || onlyUids.has(uid));
  if (doomed.length === 0) return [];
  return session.ctx.store.expungeMessages(userId, sel.id, doomed);
}
