// SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4), with result options and the
// ESEARCH response (RFC 4731, RFC 9051 7.3.4) and the saved result "$" (RFC 5182,
// RFC 9051 6.4.4.1). IMAP4rev2 sessions always get ESEARCH; IMAP4rev1 sessions get the
// old SEARCH response unless they ask for result options.
import { SELECTED, command, type CommandResult } from './types';
import { parseReturnOptions, parseSearchProgram, type ReturnOption, type SearchKey, type SearchProgram } from '../search/parse';
import { enableCondstore } from '../condstore';
import type { SelectedMailbox } from '../selected';
import { evaluateSearch } from '../search/evaluate';
import { storeContentLoader } from '../search/content';
import { formatSequence } from '../wire/sequence';
import type { Parser } from '../wire/parser';
import type { Session } from '../session';

/** RFC 9051 6.4.4: US-ASCII and UTF-8 are required; memgate supports just those. */
const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

export interface SearchArgs {
  /** Result options; null without RETURN (then rev1 gets `* SEARCH`, rev2 ESEARCH ALL). */
  returns: ReadonlySet<ReturnOption> | null;
  program: SearchProgram;
}

function parse(p: Parser, session: Session): SearchArgs {
  p.sp();
  const returns = parseReturnOptions(p);
  try {
    if (returns) p.sp();
    return { returns, program: parseSearchProgram(p) };
  } catch (err) {
    // A failed SEARCH ... RETURN (SAVE) leaves "$" empty (RFC 5182 2.1).
    if (returns?.has('SAVE') && session.selected) session.selected.saved = [];
    throw err;
  }
}

async function run(session: Session, args: SearchArgs, tag: string, byUid: boolean): Promise<CommandResult | void> {
  const sel = session.selected!;
  const save = args.returns?.has('SAVE') === true;
  try {
    if (args.program.charset !== null && !CHARSETS.has(args.program.charset)) {
      if (save) sel.saved = [];
      session.tagged(tag, 'NO', 'BADCHARSET (UTF-8 US-ASCII)', 'Unsupported charset');
      return { answered: true };
    }
    // A MODSEQ key is a CONDSTORE enabling command and adds the highest MODSEQ of what is
    // returned to the response (RFC 7162 3.1.5; RFC 4731 3.2 for ESEARCH).
    const withModseq = usesModseq(args.program.key);
    if (withModseq) enableCondstore(session);
    const loader = storeContentLoader(session.ctx.store, session.user!.id, args.program.key);
    const uids = await evaluateSearch(sel, args.program.key, loader);
    if (save) sel.saved = savedResult(uids, args.returns!);
    const numbers = byUid ? uids : uids.map((uid) => sel.seqOf(uid));
    if (args.returns === null && !session.rev2) {
      const modseq = withModseq && uids.length > 0 ? ` (MODSEQ ${highestModseq(sel, uids)})` : '';
      session.send('* SEARCH' + numbers.map((n) => ' ' + n).join('') + modseq);
    } else {
      const returns = args.returns ?? new Set<ReturnOption>(['ALL']);
      const modseq = withModseq ? highestModseq(sel, returnedUids(uids, returns)) : null;
      const line = esearchLine(tag, byUid, numbers, returns, modseq);
      if (line !== null) session.send(line);
    }
  } catch (err) {
    if (save) sel.saved = [];
    throw err;
  }
}

function usesModseq(key: SearchKey): boolean {
  switch (key.kind) {
    case 'modseq':
      return true;
    case 'and':
      return key.keys.some(usesModseq);
    case 'or':
      return usesModseq(key.left) || usesModseq(key.right);
    case 'not':
      return usesModseq(key.key);
    default:
      return false;
  }
}

/** The messages an ESEARCH response names: MIN and/or MAX alone name only those. */
function returnedUids(uids: number[], returns: ReadonlySet<ReturnOption>): number[] {
  if (uids.length === 0 || returns.has('ALL') || returns.has('COUNT')) return uids;
  const out: number[] = [];
  if (returns.has('MIN')) out.push(uids[0]);
  if (returns.has('MAX')) out.push(uids[uids.length - 1]);
  return out.length > 0 ? out : uids;
}

/** The highest MODSEQ among the messages, null for none. */
function highestModseq(sel: SelectedMailbox, uids: readonly number[]): number | null {
  let top: number | null = null;
  for (const uid of uids) {
    const m = sel.message(uid);
    if (m && (top === null || m.modseq > top)) top = m.modseq;
  }
  return top;
}

/**
 * What SAVE keeps: all matches, except that SAVE with MIN and/or MAX but neither ALL nor
 * COUNT keeps just those (RFC 5182 2.4).
 */
export function savedResult(uids: number[], returns: ReadonlySet<ReturnOption>): number[] {
  if (uids.length === 0 || returns.has('ALL') || returns.has('COUNT')) return uids;
  if (!returns.has('MIN') && !returns.has('MAX')) return uids;
  const kept: number[] = [];
  if (returns.has('MIN')) kept.push(uids[0]);
  if (returns.has('MAX') && (kept.length === 0 || uids[uids.length - 1] !== kept[0])) kept.push(uids[uids.length - 1]);
  return kept;
}

/**
 * `* ESEARCH (TAG "t") [UID] ...` (RFC 4731 3.1): MIN, MAX and ALL are left out when
 * nothing matched; SAVE alone gives no response at all (RFC 5182 2.1). Null for none.
 */
export function esearchLine(
  tag: string,
  byUid: boolean,
  numbers: number[],
  returns: ReadonlySet<ReturnOption>,
  modseq: number | null = null,
): string | null {
  if (returns.size === 1 && returns.has('SAVE')) return null;
  // A tag is atom characters, which never include '"' or '\': it quotes as is.
  let line = `* ESEARCH (TAG "${tag}")${byUid ? ' UID' : ''}`;
  const found = numbers.length > 0;
  if (returns.has('MIN') && found) line += ` MIN ${numbers[0]}`;
  if (returns.has('MAX') && found) line += ` MAX ${numbers[numbers.length - 1]}`;
  if (returns.has('COUNT')) line += ` COUNT ${numbers.length}`;
  if (returns.has('ALL') && found) line += ` ALL ${formatSequence(numbers)}`;
  if (modseq !== null && found) line += ` MODSEQ ${modseq}`;
  return line;
}

export const search = command<SearchArgs>({
  name: 'SEARCH',
  states: SELECTED,
  parse,
  handle: (session, args, tag) => run(session, args, tag, false),
  blocksExpunge: true,
});

export const uidSearch = command<SearchArgs>({
  name: 'UID SEARCH',
  states: SELECTED,
  parse,
  handle: (session, args, tag) => run(session, args, tag, true),
});
