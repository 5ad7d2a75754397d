// The shape of one IMAP command in the typed table (conventions: one file per command).
import type { Parser } from '../wire/parser';
import type { Session, SessionState } from '../session';

export interface CommandResult {
  /** Response code for the tagged OK, without brackets (e.g. `READ-WRITE`). */
  code?: string | null;
  text?: string;
  /** The handler already sent the tagged response itself (STARTTLS, IDLE). */
  answered?: boolean;
}

export interface Command<A> {
  name: string;
  states: readonly SessionState[];
  /** Parses the arguments after the command name (the parser stands right after it). */
  parse(parser: Parser, session: Session): A;
  handle(session: Session, args: A, tag: string): Promise<CommandResult | void>;
  /**
   * FETCH, STORE and SEARCH by sequence number must not be followed by EXPUNGE
   * responses (RFC 9051 7.4.1): the session then holds expunges back.
   */
  blocksExpunge?: boolean;
  /**
   * No untagged updates at the end of this command (SELECT, EXAMINE): the client has just
   * been given the mailbox as it was read, and clients (imaptest among them) take EXISTS
   * there as final until the tagged OK. Changes meanwhile come with the next command.
   */
  defersUpdates?: boolean;
}

export const ANY_STATE = ['notAuthenticated', 'authenticated', 'selected'] as const;
export const AUTHENTICATED = ['authenticated', 'selected'] as const;
export const SELECTED = ['selected'] as const;
export const NOT_AUTHENTICATED = ['notAuthenticated'] as const;

/** Helper that keeps each file's args type while the table stores `Command<unknown>`. */
export function command<A>(spec: Command<A>): Command<unknown> {
  return spec as unknown as Command<unknown>;
}

/** No arguments: only the end of the line may follow. */
export function noArgs(parser: Parser): void {
  parser.end();
}
