// SORT and UID SORT (RFC 5256 3), with I18NLEVEL=1's i;unicode-casemap comparator
// (RFC 5255 4, RFC 5051), DISPLAYFROM / DISPLAYTO (RFC 5957) and ESORT's result options
// answered in an ESEARCH response (RFC 5267 3). The search part is SEARCH's own parser and
// evaluator.
import { SELECTED, command, type CommandResult } from './types';
import { parseKey, parseReturnOptions, type ReturnOption, type SearchKey } from '../search/parse';
import { evaluateSearch } from '../search/evaluate';
import { storeContentLoader } from '../search/content';
import { parseSortCriteria, needsHeader, type SortCriterion } from '../sort/criteria';
import { loadSortFacts, type SortFacts } from '../sort/facts';
import { sortMessages } from '../sort/order';
import { esearchLine, savedResult } from './search';
import type { Parser } from '../wire/parser';
import type { Session } from '../session';

/** RFC 5256 3: US-ASCII and UTF-8 are required; memgate supports just those. */
const CHARSETS = new Set(['UTF-8', 'US-ASCII']);

interface SortArgs {
  /** ESORT result options; null without RETURN (then the answer is `* SORT`). */
  returns: ReadonlySet<ReturnOption> | null;
  criteria: SortCriterion[];
  charset: string;
  key: SearchKey;
}

function parse(p: Parser, session: Session): SortArgs {
  p.sp();
  const returns = parseReturnOptions(p);
  try {
    if (returns) p.sp();
    const criteria = parseSortCriteria(p);
    p.sp();
    const charset = p.astring().toUpperCase();
    p.sp();
    const keys: SearchKey[] = [parseKey(p, 0)];
    while (!p.atEnd()) {
      p.sp();
      keys.push(parseKey(p, 0));
    }
    return { returns, criteria, charset, key: keys.length === 1 ? keys[0] : { kind: 'and', keys } };
  } catch (err) {
    // As for SEARCH: a failed command with SAVE leaves "$" empty (RFC 5182 2.1).
    if (returns?.has('SAVE') && session.selected) session.selected.saved = [];
    throw err;
  }
}

async function run(session: Session, args: SortArgs, tag: string, byUid: boolean): Promise<CommandResult | void> {
  const sel = session.selected!;
  const save = args.returns?.has('SAVE') === true;
  try {
    if (!CHARSETS.has(args.charset)) {
      if (save) sel.saved = [];
      session.tagged(tag, 'NO', 'BADCHARSET (UTF-8 US-ASCII)', 'Unsupported charset');
      return { answered: true };
    }
    const store = session.ctx.store;
    const userId = session.user!.id;
    const matched = await evaluateSearch(sel, args.key, storeContentLoader(store, userId, args.key));
    const messages = matched.map((uid) => sel.message(uid)).filter((m) => m !== undefined);
    const facts = needsHeader(args.criteria)
      ? await loadSortFacts(store, userId, messages.map((m) => m.contentId))
      : new Map<string, SortFacts>();
    const sorted = sortMessages(messages, args.criteria, facts);
    if (save) sel.saved = savedResult(sorted, args.returns!);
    const numbers = byUid ? sorted : sorted.map((uid) => sel.seqOf(uid));
    if (args.returns === null) session.send('* SORT' + numbers.map((n) => ' ' + n).join(''));
    else {
      // RFC 5267 3.2: MIN and MAX are the first and last in sort order, ALL lists the
      // matches in sort order (only ascending runs collapse into ranges): SEARCH's line
      // built from the sorted numbers is exactly that.
      const line = esearchLine(tag, byUid, numbers, args.returns);
      if (line !== null) session.send(line);
    }
  } catch (err) {
    if (save) sel.saved = [];
    throw err;
  }
}

export const sort = command<SortArgs>({
  name: 'SORT',
  states: SELECTED,
  parse,
  handle: (session, args, tag) => run(session, args, tag, false),
  blocksExpunge: true,
});

export const uidSort = command<SortArgs>({
  name: 'UID SORT',
  states: SELECTED,
  parse,
  handle: (session, args, tag) => run(session, args, tag, true),
});
