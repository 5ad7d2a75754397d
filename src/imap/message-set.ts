// Turns a sequence set from the client into UIDs of the selected mailbox.
import { ProtocolError } from '../core/errors';
import { resolveRanges, type SequenceSet } from './wire/sequence';
import type { SelectedMailbox } from './selected';

/**
 * UIDs addressed by `set`, ascending. By sequence number, numbers beyond the mailbox are
 * an error (RFC 9051 9: seq-number); by UID, UIDs that do not exist are ignored.
 */
export function resolveSet(sel: SelectedMailbox, set: SequenceSet, byUid: boolean): number[] {
  if (set.kind === 'saved') {
    const known = sel.saved.filter((uid) => sel.message(uid) !== undefined);
    return known.sort((a, b) => a - b);
  }
  if (byUid) return resolveRanges(set.ranges, sel.allUids());
  for (const r of set.ranges) {
    if (r.from > sel.count || r.to > sel.count) {
      if (sel.count === 0 && r.from === 0 && r.to === 0) continue;
      throw new ProtocolError('Invalid message sequence number (beyond the last message)');
    }
  }
  const seqs = resolveRanges(set.ranges, sel.allSeqs());
  return seqs.map((seq) => sel.uidAt(seq)!);
}
