// What a mailbox request handler gets: the request, the tenant, the resolved mailbox, and
// how links back to this mailbox are written (the caller's own /me or /users/{id}).
import { EmuRequest, wantsImmutableIds } from './http';
import { EmulatorState, Mailbox, MessageRecord } from './state';

export interface MailboxContext {
  req: EmuRequest;
  state: EmulatorState;
  mailbox: Mailbox;
  /** "/v1.0/me" or "/v1.0/users/{id}", as the caller wrote it. */
  userPath: string;
  /** Prefer: IdType="ImmutableId" was sent. */
  immutable: boolean;
}

export function mailboxContext(req: EmuRequest, state: EmulatorState, mailbox: Mailbox, userPath: string): MailboxContext {
  return { req, state, mailbox, userPath, immutable: wantsImmutableIds(req) };
}

/** The id a caller sees for a message: immutable when asked for, else the REST id. */
export function messageId(ctx: { immutable: boolean }, msg: MessageRecord): string {
  return ctx.immutable ? msg.immutableId : msg.restId;
}
