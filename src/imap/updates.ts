// Untagged EXPUNGE / EXISTS / FETCH updates for the selected mailbox (RFC 9051 7.4.1, 7.5.1).
import type { Session } from './session';
import type { PendingUpdates } from './selected';
import { flagList } from './flags';

export function announceUpdates(session: Session, updates: PendingUpdates): void {
  for (const seq of updates.expunged) session.send(`* ${seq} EXPUNGE`);
  if (updates.exists !== null) session.send(`* ${updates.exists} EXISTS`);
  for (const [seq, message] of updates.flagChanges) {
    session.send(`* ${seq} FETCH (UID ${message.uid} FLAGS ${flagList(message.flags)})`);
  }
}
