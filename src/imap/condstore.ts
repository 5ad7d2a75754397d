// CONDSTORE and QRESYNC (RFC 7162) pieces that several commands share: turning CONDSTORE
// on, announcing expunges as EXPUNGE or VANISHED, and working out VANISHED (EARLIER).
import type { UidRanges } from '../core/ports';
import type { Session } from './session';
import type { SelectedMailbox } from './selected';
import type { SeqRange } from './wire/sequence';

/**
 * A CONDSTORE enabling command ran (RFC 7162 3.1): from now on untagged FETCHes carry
 * MODSEQ; when it happens in a selected mailbox, its HIGHESTMODSEQ is announced (3.1.2.1).
 */
export function enableCondstore(session: Session): void {
  if (session.condstore) return;
  session.enabled.add('CONDSTORE');
  const sel = session.selected;
  if (sel) session.send(`* OK [HIGHESTMODSEQ ${sel.reportableModseq()}] Highest`);
}

/** Expunges the client must hear of: `* n EXPUNGE` each, or one VANISHED once QRESYNC is on (3.2.10). */
export function sendExpunged(session: Session, seqs: readonly number[], uids: readonly number[]): void {
  const text = expungedText(session, seqs, uids);
  if (text) session.write([text]);
}

/** The same as response text (CRLF-terminated lines; empty when there is nothing to say). */
export function expungedText(session: Session, seqs: readonly number[], uids: readonly number[]): string {
  if (session.qresync) return uids.length > 0 ? `* VANISHED ${formatRanges(toRanges([...uids].sort((a, b) => a - b)))}\r\n` : '';
  let text = '';
  for (const seq of seqs) text += `* ${seq} EXPUNGE\r\n`;
  return text;
}

/**
 * The UID ranges of a client's set for VANISHED: "*" stands for the highest UID the mailbox
 * ever gave (not the highest still present: the last messages may be the expunged ones).
 * Ascending, merged, clamped to the UIDs that were given.
 */
export function uidRanges(ranges: readonly SeqRange[], uidNext: number): Array<[number, number]> {
  const top = uidNext - 1;
  const out: Array<[number, number]> = [];
  for (const r of ranges) {
    const a = r.from === 0 ? top : r.from;
    const b = r.to === 0 ? top : r.to;
    const lo = Math.max(1, Math.min(a, b));
    const hi = Math.min(top, Math.max(a, b));
    if (lo <= hi) out.push([lo, hi]);
  }
  return mergeRanges(out);
}

export function mergeRanges(ranges: Array<[number, number]>): Array<[number, number]> {
  ranges.sort((x, y) => x[0] - y[0]);
  const out: Array<[number, number]> = [];
  for (const [a, b] of ranges) {
    const last = out[out.length - 1];
    if (last && a <= last[1] + 1) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** Ascending numbers as ranges. */
export function toRanges(sorted: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const n of sorted) {
    const last = out[out.length - 1];
    if (last && n === last[1] + 1) last[1] = n;
    else if (!last || n > last[1]) out.push([n, n]);
  }
  return out;
}

export function formatRanges(ranges: ReadonlyArray<readonly [number, number]>): string {
  return ranges.map(([a, b]) => (a === b ? String(a) : `${a}:${b}`)).join(',');
}

/** `known-sequence-set` and `known-uid-set` of QRESYNC's seq-match-data, paired up. */
export interface SeqMatch {
  seqs: number[];
  uids: number[];
}

/**
 * VANISHED (EARLIER) since `since` within `ranges` (RFC 7162 3.2.5.2, 3.2.6). With a complete
 * expunge log that is exactly the logged UIDs. Once the log was trimmed above `since`, every
 * UID in the ranges that is not in the mailbox may have gone: all of them are reported, except
 * below the highest seq-match pair that proves the client's view matched (its sequence number
 * equals the messages still there plus the logged expunges up to its UID).
 */
export async function vanishedEarlier(
  session: Session,
  sel: SelectedMailbox,
  since: number,
  ranges: UidRanges,
  match: SeqMatch | null,
): Promise<Array<[number, number]>> {
  if (ranges.length === 0) return [];
  const logged = await session.ctx.store.expungedSince(session.user!.id, sel.id, since, match ? null : ranges);
  // The log is read after the view: a UID the view still holds was expunged since, and is
  // announced (VANISHED) when the view catches up, not as EARLIER beside a FETCH of it.
  const inRanges = logged.uids.filter((uid) => within(ranges, uid) && sel.message(uid) === undefined);
  if (logged.complete) return toRanges(inRanges);
  let proven = 0;
  if (match) {
    const present = sel.allUids();
    for (let i = 0; i < match.seqs.length; i++) {
      const uid = match.uids[i];
      const expected = countAtMost(present, uid) + countAtMost(logged.uids, uid);
      if (expected !== match.seqs[i]) break;
      proven = uid;
    }
  }
  const known = toRanges(inRanges.filter((uid) => uid <= proven));
  const rest = clip(ranges, proven + 1);
  return mergeRanges([...known, ...absent(rest, sel.allUids())]);
}

function within(ranges: UidRanges, uid: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (uid < ranges[mid][0]) hi = mid - 1;
    else if (uid > ranges[mid][1]) lo = mid + 1;
    else return true;
  }
  return false;
}

/** How many of the ascending numbers are <= n. */
function countAtMost(sorted: readonly number[], n: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function clip(ranges: UidRanges, from: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a, b] of ranges) if (b >= from) out.push([Math.max(a, from), b]);
  return out;
}

/** The parts of `ranges` where no present UID is. */
function absent(ranges: ReadonlyArray<readonly [number, number]>, present: readonly number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const [a, b] of ranges) {
    let next = a;
    for (let i = countAtMost(present, a - 1); i < present.length && present[i] <= b; i++) {
      if (present[i] > next) out.push([next, present[i] - 1]);
      next = present[i] + 1;
    }
    if (next <= b) out.push([next, b]);
  }
  return out;
}
