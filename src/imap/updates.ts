// Untagged EXPUNGE / EXISTS / FETCH updates for the selected mailbox (RFC 9051 7.4.1, 7.5.1).
import type { Session } from './session';
import type { PendingUpdates } from './selected';
import { SYSTEM_FLAGS, flagList } from './flags';
import { sendExpunged } from './condstore';

/**
 * A keyword the client has not seen must be announced in FLAGS (and PERMANENTFLAGS)
 * before a FETCH shows it (RFC 9051 7.3.5).
 */
export function announceKeywordsIfNew(session: Session, flagSets: ReadonlyArray<readonly string[]>): void {
  const sel = session.selected;
  if (!sel || !flagSets.some((flags) => sel.hasUnannounced(flags))) return;
  const flags = [...SYSTEM_FLAGS, ...sel.announceKeywords()];
  session.send(`* FLAGS ${flagList(flags)}`);
  session.send(`* OK [PERMANENTFLAGS ${sel.readOnly ? '()' : flagList([...flags, '\\*'])}] Flags permitted`);
}

export function announceUpdates(session: Session, updates: PendingUpdates): void {
  sendExpunged(session, updates.expunged, updates.expungedUids);
  announceKeywordsIfNew(session, updates.flagChanges.map(([, m]) => m.flags).concat(updates.newFlags));
  if (updates.exists !== null) {
    session.send(`* ${updates.exists} EXISTS`);
    if (!session.rev2 && session.selected) session.send(`* ${session.selected.recent.size} RECENT`);
  }
  for (const [seq, message] of updates.flagChanges) {
    const flags = session.selected ? session.selected.flagsOf(message) : message.flags;
    // RFC 7162 3.1.2.2: with CONDSTORE on, every unsolicited FETCH carries MODSEQ.
    const modseq = session.condstore ? ` MODSEQ (${message.modseq})` : '';
    session.send(`* ${seq} FETCH (UID ${message.uid} FLAGS ${flagList(flags)}${modseq})`);
  }
}
