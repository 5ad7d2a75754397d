// SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4), with result options and the
// ESEARCH response (RFC 4731, RFC 9051 7.3.4) and the saved result "$" (RFC 5182,
// RFC 9051 6.4.4.1). IMAP4rev2 sessions always get ESEARCH; IMAP4rev1 sessions get the
// old SEARCH response unless they ask for result options.
import { SELECTED, command, type CommandResult } from './types';
import { parseReturnOptions, parseSearchProgram, type ReturnOption, type SearchProgram } from '../search/parse';
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
    const loader = storeContentLoader(session.ctx.store, session.user!.id);
    const uids = await evaluateSearch(sel, args.program.key, loader);
    if (save) sel.saved = savedResult(uids, args.returns!);
    const numbers = byUid ? uids : uids.map((uid) => sel.seqOf(uid));
    if (args.returns === null && !session.rev2) {
      session.send('* SEARCH' + numbers.map((n) => ' ' + n).join(''));
    } else {
      const line = esearchLine(tag, byUid, numbers, args.returns ?? new Set<ReturnOption>(['ALL']));
      if (line !== null) session.send(line);
    }
  } catch (err) {
    if (save) sel.saved = [];
    throw err;
  }
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
export function esearchLine(tag: string, byUid: boolean, numbers: number[], returns: ReadonlySet<ReturnOption>): string | null {
  if (returns.size === 1 && returns.has('SAVE')) return null;
  // A tag is atom characters, which never include '"' or '\': it quotes as is.
  let line = `* ESEARCH (TAG "${tag}")${byUid ? ' UID' : ''}`;
  const found = numbers.length > 0;
  if (returns.has('MIN') && found) line += ` MIN ${numbers[0]}`;
  if (returns.has('MAX') && found) line += ` MAX ${numbers[numbers.length - 1]}`;
  if (returns.has('COUNT')) line += ` COUNT ${numbers.length}`;
  if (returns.has('ALL') && found) line += ` ALL ${formatSequence(numbers)}`;
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
