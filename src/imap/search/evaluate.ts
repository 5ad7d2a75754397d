// Evaluates a SEARCH key over the selected mailbox. Flags, sizes, dates and numbers come
// from the view; header and body keys need the message content, which is loaded lazily,
// in batches, and only for messages the cheap keys could not decide. A first pass runs with
// three-valued logic (true / false / undecided) so that `SEEN FROM x` never loads a message
// that is unseen, and `OR FLAGGED BODY x` never loads one that is flagged.
import { casemapKey } from '../sort/collate';
import type { MailboxMessage } from '../../core/ports';
import type { SeqRange, SequenceSet } from '../wire/sequence';
import type { DateOp, DayNumber, SearchKey } from './parse';
import { headerDay, utcDay } from './dates';

/** What evaluation needs of the selected mailbox (SelectedMailbox fits). */
export interface SearchView {
  /** UIDs in sequence order (index + 1 = sequence number). */
  allUids(): readonly number[];
  message(uid: number): MailboxMessage | undefined;
  /** SEARCHRES `$`, as UIDs. */
  readonly saved: readonly number[];
  /** UIDs that are \Recent in this session (IMAP4rev1); absent means none. */
  readonly recent?: ReadonlySet<number>;
}

/** A message's searchable text, decoded (encoded words, transfer encodings, charsets). */
export interface MessageText {
  /** Every field with this name (case-insensitive), decoded, in message order. */
  header(name: string): readonly string[];
  /** The whole top-level header, decoded, for TEXT. */
  headerSection(): string;
  /** The text of the body's parts, decoded, for BODY and TEXT. */
  body(): string;
}

/** Loads texts by content id; ids it cannot load are absent (and then match no text key). */
export type ContentLoader = (contentIds: string[]) => Promise<Map<string, MessageText>>;

export interface EvaluateOptions {
  /** Contents loaded at once (default 32). */
  batchSize?: number;
}

/**
 * Comparison form of text: the i;unicode-casemap comparator (RFC 5051), the default that
 * I18NLEVEL=1 promises for SEARCH as for SORT (RFC 5255 4): titlecase, then NFKD.
 */
export function fold(text: string): string {
  return casemapKey(text);
}

/** Everything that stays the same for all messages of one evaluation. */
interface Scope {
  count: number;
  maxUid: number;
  saved: ReadonlySet<number>;
  recent: ReadonlySet<number>;
  /** The moment WITHIN intervals count back from (ms since the epoch). */
  now: number;
}

interface Candidate {
  message: MailboxMessage;
  seq: number;
}

/** Undecided is `undefined`: the key needs content that is not loaded (yet). */
type Tri = boolean | undefined;

/** Matching UIDs, ascending. */
export async function evaluateSearch(
  view: SearchView,
  key: SearchKey,
  load: ContentLoader,
  options: EvaluateOptions = {},
): Promise<number[]> {
  const uids = [...view.allUids()];
  const scope: Scope = {
    count: uids.length,
    maxUid: uids.length > 0 ? uids[uids.length - 1] : 0,
    saved: new Set(view.saved),
    recent: view.recent ?? new Set<number>(),
    now: Date.now(),
  };
  const matched = new Set<number>();
  const undecided: Candidate[] = [];
  uids.forEach((uid, i) => {
    const message = view.message(uid);
    if (!message) return;
    const candidate = { message, seq: i + 1 };
    const result = test(key, candidate, scope, null);
    if (result === true) matched.add(uid);
    else if (result === undefined) undecided.push(candidate);
  });
  const batchSize = Math.max(1, options.batchSize ?? 32);
  for (let i = 0; i < undecided.length; i += batchSize) {
    const batch = undecided.slice(i, i + batchSize);
    const texts = await load([...new Set(batch.map((c) => c.message.contentId))]);
    for (const candidate of batch) {
      const text = texts.get(candidate.message.contentId);
      const facts = new MessageFacts(text ?? EMPTY_TEXT, candidate.message);
      if (test(key, candidate, scope, facts) === true) matched.add(candidate.message.uid);
    }
  }
  return uids.filter((uid) => matched.has(uid));
}

function test(key: SearchKey, c: Candidate, scope: Scope, facts: MessageFacts | null): Tri {
  switch (key.kind) {
    case 'all':
      return true;
    case 'and': {
      let result: Tri = true;
      for (const k of key.keys) {
        const r = test(k, c, scope, facts);
        if (r === false) return false;
        if (r === undefined) result = undefined;
      }
      return result;
    }
    case 'or': {
      const left = test(key.left, c, scope, facts);
      if (left === true) return true;
      const right = test(key.right, c, scope, facts);
      if (right === true) return true;
      return left === undefined || right === undefined ? undefined : false;
    }
    case 'not': {
      const r = test(key.key, c, scope, facts);
      return r === undefined ? undefined : !r;
    }
    case 'flag':
      return hasFlag(c.message, key.flag) === key.present;
    case 'recent':
      return scope.recent.has(c.message.uid);
    case 'date':
      if (key.field === 'internal') return compareDay(utcDay(c.message.internalDate), key.op, key.day);
      return facts ? compareDay(facts.sentDay(), key.op, key.day) : undefined;
    case 'size':
      return key.op === 'larger' ? c.message.size > key.size : c.message.size < key.size;
    case 'modseq':
      return c.message.modseq >= key.modseq;
    case 'emailId':
      return key.contentId === c.message.contentId;
    case 'threadId':
      return false;
    case 'within': {
      // RFC 5032 3: OLDER n is "at least n seconds old", YOUNGER n "less than n seconds old".
      const age = scope.now - c.message.internalDate.getTime();
      return key.op === 'older' ? age >= key.seconds * 1000 : age < key.seconds * 1000;
    }
    case 'seq':
      return inSet(key.set, c.seq, scope.count, c.message.uid, scope);
    case 'uid':
      return inSet(key.set, c.message.uid, scope.maxUid, c.message.uid, scope);
    case 'header': {
      if (!facts) return undefined;
      const needle = fold(key.value);
      return facts.header(key.name).some((value) => value.includes(needle));
    }
    case 'body':
      return facts ? facts.body().includes(fold(key.value)) : undefined;
    case 'text': {
      if (!facts) return undefined;
      const needle = fold(key.value);
      return facts.headerSection().includes(needle) || facts.body().includes(needle);
    }
    default: {
      const never: never = key;
      return never;
    }
  }
}

function hasFlag(message: MailboxMessage, flag: string): boolean {
  const wanted = flag.toLowerCase();
  return message.flags.some((f) => f.toLowerCase() === wanted);
}

function compareDay(day: DayNumber, op: DateOp, wanted: DayNumber): boolean {
  switch (op) {
    case 'before':
      return day < wanted;
    case 'on':
      return day === wanted;
    case 'since':
      return day >= wanted;
    default: {
      const never: never = op;
      return never;
    }
  }
}

/**
 * Membership of `n` in a set whose "*" is `max`. As a search key, numbers beyond the
 * mailbox simply match nothing (a predicate, not an address). "$" holds UIDs (RFC 5182),
 * whether it stands for sequence numbers or UIDs.
 */
function inSet(set: SequenceSet, n: number, max: number, uid: number, scope: Scope): boolean {
  if (set.kind === 'saved') return scope.saved.has(uid);
  return set.ranges.some((r) => inRange(r, n, max));
}

function inRange(r: SeqRange, n: number, max: number): boolean {
  const a = r.from === 0 ? max : r.from;
  const b = r.to === 0 ? max : r.to;
  return a <= b ? n >= a && n <= b : n >= b && n <= a;
}

const EMPTY_TEXT: MessageText = {
  header: () => [],
  headerSection: () => '',
  body: () => '',
};

/** One message's folded text, each piece computed on first use. */
class MessageFacts {
  private readonly headers = new Map<string, string[]>();
  private folded: { header?: string; body?: string; day?: DayNumber } = {};

  constructor(
    private readonly text: MessageText,
    private readonly message: MailboxMessage,
  ) {}

  header(name: string): string[] {
    const lower = name.toLowerCase();
    let values = this.headers.get(lower);
    if (!values) {
      values = this.text.header(name).map(fold);
      this.headers.set(lower, values);
    }
    return values;
  }

  headerSection(): string {
    return (this.folded.header ??= fold(this.text.headerSection()));
  }

  body(): string {
    return (this.folded.body ??= fold(this.text.body()));
  }

  /**
   * The Date field's day; without a usable Date field, INTERNALDATE's (as RFC 5256 does
   * for SORT), so that SENT* keys still place every message somewhere in time.
   */
  sentDay(): DayNumber {
    if (this.folded.day === undefined) {
      const date = this.text.header('Date')[0];
      this.folded.day = (date !== undefined ? headerDay(date) : null) ?? utcDay(this.message.internalDate);
    }
    return this.folded.day;
  }
}
