// SUBSCRIBE and UNSUBSCRIBE (RFC 9051 6.3.7, 6.3.8).
import { AUTHENTICATED, command } from './types';
import { NotFoundError } from '../../core/errors';
import type { Parser } from '../wire/parser';

function parse(p: Parser): string {
  p.sp();
  const name = p.mailbox();
  p.end();
  return name;
}

export const subscribe = command<string>({
  name: 'SUBSCRIBE',
  states: AUTHENTICATED,
  parse,
  async handle(session, name) {
    const mailbox = await session.ctx.store.getMailbox(session.user!.id, name);
    if (!mailbox) throw new NotFoundError(`Mailbox does not exist: ${name}`);
    await session.ctx.store.subscribe(session.user!.id, name);
  },
});

export const unsubscribe = command<string>({
  name: 'UNSUBSCRIBE',
  states: AUTHENTICATED,
  parse,
  async handle(session, name) {
    // Unsubscribing a name that was never subscribed is harmless (RFC 9051 6.3.8 allows OK).
    await session.ctx.store.unsubscribe(session.user!.id, name);
  },
});
