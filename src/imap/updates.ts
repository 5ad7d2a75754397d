// Untagged EXPUNGE / EXISTS / FETCH updates for the selected mailbox (RFC 9051 7.4.1, 7.5.1).
import type { Session } from './session';
import type { PendingUpdates } from './selected';
import { SYSTEM_FLAGS, flagList } from './flags';
import { expungedText } from './condstore';

/**
 * A keyword the client has not seen must be announced in FLAGS (and PERMANENTFLAGS)
 * before a FETCH shows it (RFC 9051 7.3.5).
 */
export function announceKeywordsIfNew(session: Session, flagSets: ReadonlyArray<readonly string[]>): void {
  const text = keywordsText(session, flagSets);
  if (text) session.write([text]);
}

function keywordsText(session: Session, flagSets: ReadonlyArray<readonly string[]>): string {
  const sel = session.selected;
  if (!sel || !flagSets.some((flags) => sel.hasUnannounced(flags))) return '';
  const flags = [...SYSTEM_FLAGS, ...sel.announceKeywords()];
  return (
    `* FLAGS ${flagList(flags)}\r\n` +
    `* OK [PERMANENTFLAGS ${sel.readOnly ? '()' : flagList([...flags, '\\*'])}] Flags permitted\r\n`
  );
}

/** Everything a catch-up found, in one write (one segment for the usual IDLE push). */
export function announceUpdates(session: Session, updates: PendingUpdates): void {
  const sel = session.selected;
  let text = expungedText(session, updates.expunged, updates.expungedUids);
  if (updates.newFlags.length > 0 || updates.flagChanges.length > 0) {
    text += keywordsText(session, updates.flagChanges.map(([, m]) => m.flags).concat(updates.newFlags));
  }
  if (updates.exists !== null) {
    text += `* ${updates.exists} EXISTS\r\n`;
    if (!session.rev2 && sel) text += `* ${sel.recent.size} RECENT\r\n`;
  }
  for (const [seq, message] of updates.flagChanges) {
    const flags = sel ? sel.flagsOf(message) : message.flags;
    // RFC 7162 3.1.2.2: with CONDSTORE on, every unsolicited FETCH carries MODSEQ.
    const modseq = session.condstore ? ` MODSEQ (${message.modseq})` : '';
    text += `* ${seq} FETCH (UID ${message.uid} FLAGS ${flagList(flags)}${modseq})\r\n`;
  }
  if (text) session.write([text]);
}
