// GENURLAUTH (RFC 4467 6.1): authorizes the user's own rump URLs with the INTERNAL mechanism.
import { AUTHENTICATED, command } from './types';
import { MemgateError } from '../../core/errors';
import { quoteString } from '../wire/encode';

interface Args {
  requests: Array<{ url: string; mechanism: string }>;
}

export default command<Args>({
  name: 'GENURLAUTH',
  states: AUTHENTICATED,
  parse(p) {
    const requests: Args['requests'] = [];
    while (p.take(' ')) {
      const url = p.astring();
      p.sp();
      requests.push({ url, mechanism: p.atom() });
    }
    p.end();
    if (requests.length === 0) p.fail('GENURLAUTH needs a URL and a mechanism');
    return { requests };
  },
  async handle(session, { requests }) {
    const authority = session.ctx.urlauth;
    if (!authority) throw new MemgateError('URLAUTH is not available', { imapCode: 'CANNOT' });
    const urls: string[] = [];
    for (const r of requests) urls.push(await authority.generate(session.user!, r.url, r.mechanism));
    session.sendUntagged(['GENURLAUTH', ...urls.map((u) => quoteString(u))]);
    return { text: 'GENURLAUTH completed' };
  },
});
