// URLFETCH (RFC 4467 6.3): the content of authorized URLs, NIL for any that fail the check.
import { AUTHENTICATED, command } from './types';
import { MemgateError } from '../../core/errors';
import { Literal, quoteString, type WireValue } from '../wire/encode';

interface Args {
  urls: string[];
}

export default command<Args>({
  name: 'URLFETCH',
  states: AUTHENTICATED,
  parse(p) {
    const urls: string[] = [];
    while (p.take(' ')) urls.push(p.astring());
    p.end();
    if (urls.length === 0) p.fail('URLFETCH needs a URL');
    return { urls };
  },
  async handle(session, { urls }) {
    const authority = session.ctx.urlauth;
    if (!authority) throw new MemgateError('URLAUTH is not available', { imapCode: 'CANNOT' });
    const parts: WireValue[] = ['URLFETCH'];
    for (const url of urls) {
      let value: WireValue = 'NIL';
      try {
        value = new Literal((await authority.fetchAuthorized(url, { kind: 'imap', user: session.user! })).bytes);
      } catch (err) {
        if (!(err instanceof MemgateError)) throw err;
      }
      parts.push(quoteString(url), value);
    }
    session.sendUntagged(parts);
    return { text: 'URLFETCH completed' };
  },
});
