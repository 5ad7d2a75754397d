// LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258), SPECIAL-USE (RFC 6154), CHILDREN
// (RFC 3348) and LIST-STATUS (RFC 5819).
import { AUTHENTICATED, command } from './types';
import { MemgateError, ProtocolError } from '../../core/errors';
import type { Mailbox } from '../../core/ports';
import { wireName } from '../mailbox-names';
import { serialize } from '../wire/encode';
import type { Parser } from '../wire/parser';
import type { Session } from '../session';
import { listMailbox, statusItems, type StatusItem } from '../list/arguments';
import { DELIMITER, canonicalPattern } from '../list/pattern';
import { MailboxTree, type ListEntry } from '../list/entries';
import { sendStatus } from '../list/status';

type SelectOption = 'SUBSCRIBED' | 'REMOTE' | 'RECURSIVEMATCH' | 'SPECIAL-USE';
const SELECT_OPTIONS: ReadonlySet<string> = new Set<SelectOption>(['SUBSCRIBED', 'REMOTE', 'RECURSIVEMATCH', 'SPECIAL-USE']);

export interface ListArgs {
  reference: string;
  /** Patterns as sent (decoded), before the reference is applied. */
  patterns: string[];
  /** Selection options, return options or several patterns were given (RFC 5258 3). */
  extended: boolean;
  select: Set<SelectOption>;
  returnSubscribed: boolean;
  /** RETURN (STATUS (...)): the items, else null. */
  status: StatusItem[] | null;
}

export function parseList(p: Parser, rev2: boolean): ListArgs {
  const args: ListArgs = { reference: '', patterns: [], extended: false, select: new Set(), returnSubscribed: false, status: null };
  p.sp();
  if (p.peekChar('(')) {
    args.extended = true;
    for (const option of p.list(() => p.atom().toUpperCase())) {
      if (!SELECT_OPTIONS.has(option)) throw new ProtocolError(`Unknown LIST selection option ${option.slice(0, 40)}`);
      args.select.add(option as SelectOption);
    }
    if (args.select.has('RECURSIVEMATCH') && !args.select.has('SUBSCRIBED') && !args.select.has('SPECIAL-USE')) {
      throw new ProtocolError('RECURSIVEMATCH needs another selection option (RFC 5258 3.1)');
    }
    p.sp();
  }
  args.reference = p.mailbox();
  p.sp();
  if (p.peekChar('(')) {
    args.extended = true;
    args.patterns = p.list(() => listMailbox(p));
    if (args.patterns.length === 0) p.fail('Expected at least one pattern');
  } else {
    args.patterns = [listMailbox(p)];
  }
  if (!p.atEnd()) {
    p.sp();
    if (!p.matchWord('RETURN')) p.fail('Expected RETURN');
    p.sp();
    args.extended = true;
    p.list(() => returnOption(p, args, rev2));
  }
  p.end();
  if (args.select.has('SUBSCRIBED')) args.returnSubscribed = true;
  return args;
}

/** RETURN options (RFC 5258 3.2); CHILDREN and SPECIAL-USE attributes are always returned. */
function returnOption(p: Parser, args: ListArgs, rev2: boolean): void {
  const option = p.atom().toUpperCase();
  switch (option) {
    case 'SUBSCRIBED':
      args.returnSubscribed = true;
      return;
    case 'CHILDREN':
    case 'SPECIAL-USE':
      return;
    case 'STATUS':
      p.sp();
      args.status = statusItems(p, rev2);
      return;
    default:
      throw new ProtocolError(`Unknown LIST return option ${option.slice(0, 40)}`);
  }
}

export async function handleList(session: Session, args: ListArgs): Promise<void> {
  const userId = session.user!.id;
  const store = session.ctx.store;
  // An empty pattern asks for the delimiter and the root (RFC 9051 6.3.9); memgate's one
  // namespace is not rooted, so the root is "" whatever the reference.
  if (args.patterns.includes('')) session.send(`* LIST (\\Noselect) "${DELIMITER}" ""`);
  const patterns = args.patterns.filter((p) => p !== '').map((p) => canonicalPattern(args.reference, p));
  if (patterns.length === 0) return;

  const [mailboxes, subscriptions] = await Promise.all([store.listMailboxes(userId), store.listSubscriptions(userId)]);
  const byName = new Map(mailboxes.map((m) => [m.name, m]));
  const entries = new MailboxTree(mailboxes, subscriptions).list({
    patterns,
    extended: args.extended,
    selectSubscribed: args.select.has('SUBSCRIBED'),
    selectSpecialUse: args.select.has('SPECIAL-USE'),
    recursiveMatch: args.select.has('RECURSIVEMATCH'),
    returnSubscribed: args.returnSubscribed,
  });
  for (const entry of entries) {
    sendListLine(session, 'LIST', entry);
    const mailbox = byName.get(entry.name);
    // No STATUS for a mailbox that cannot be selected (RFC 5819 2).
    if (args.status && mailbox && !mailbox.noSelect) await listStatus(session, mailbox, args.status);
  }
}

/** `* LIST (attrs) "/" name [("CHILDINFO" (...))]`, also used for LSUB. */
export function sendListLine(session: Session, kind: 'LIST' | 'LSUB', entry: ListEntry): void {
  const chunks: Array<string | Buffer> = [`* ${kind} (${entry.attributes.join(' ')}) "${DELIMITER}" `];
  serialize(wireName(session, entry.name), chunks);
  if (entry.childInfo && entry.childInfo.length > 0) {
    chunks.push(` ("CHILDINFO" (${entry.childInfo.map((c) => `"${c}"`).join(' ')}))`);
  }
  chunks.push('\r\n');
  session.write(chunks);
}

/** LIST-STATUS: a mailbox deleted meanwhile just gets no STATUS line (RFC 5819 2). */
async function listStatus(session: Session, mailbox: Mailbox, items: StatusItem[]): Promise<void> {
  try {
    await sendStatus(session, mailbox, items);
  } catch (err) {
    if (!(err instanceof MemgateError) || err.imapStatus === 'BAD') throw err;
    session.ctx.log.debug({ err, mailbox: mailbox.name }, 'LIST-STATUS skipped a mailbox');
  }
}

export default command<ListArgs>({
  name: 'LIST',
  states: AUTHENTICATED,
  parse: (p, session) => parseList(p, session.rev2),
  handle: (session, args) => handleList(session, args),
});
