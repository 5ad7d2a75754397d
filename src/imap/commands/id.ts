// ID (RFC 2971).
import { ANY_STATE, command } from './types';
import { nstring, serialize } from '../wire/encode';

export default command({
  name: 'ID',
  states: ANY_STATE,
  parse(p) {
    p.sp();
    if (p.matchWord('NIL')) {
      p.end();
      return null;
    }
    const items = p.list(() => (p.peekChar('"') || p.atLiteral() ? p.string() : p.nstring()));
    p.end();
    if (items.length % 2 !== 0 || items.length > 60) p.fail('ID needs field/value pairs (at most 30)');
    return items;
  },
  async handle(session, clientId) {
    if (clientId) session.ctx.log.debug({ clientId }, 'client ID');
    const chunks = serialize(['name', 'memgate', 'vendor', 'memgate', 'support-url', 'https://github.com/memgate'].map((v) => nstring(v)));
    session.write(['* ID ', ...chunks, '\r\n']);
  },
});
