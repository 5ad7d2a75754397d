// URLFETCH (RFC 4467 6.3): the content of authorized URLs, NIL for any that fail the check.
// RFC 5524 (URLAUTH=BINARY): a URL sent as ("url" BODYPARTSTRUCTURE BINARY...) is answered
// with parenthesized metadata items (urlauth/binary.ts); without parameters, as plain.
import { AUTHENTICATED, command } from './types';
import { MemgateError } from '../../core/errors';
import { Literal, quoteString, type WireValue } from '../wire/encode';
import { URLFETCH_PARAMS, urlMetadata, type UrlFetchParam } from '../urlauth/binary';

interface UrlFetchArg {
  url: string;
  /** null: the plain form (RFC 4467); else the parameters asked for (RFC 5524). */
  params: UrlFetchParam[] | null;
}

interface Args {
  urls: UrlFetchArg[];
}

export default command<Args>({
  name: 'URLFETCH',
  states: AUTHENTICATED,
  parse(p) {
    const urls: UrlFetchArg[] = [];
    while (p.take(' ')) {
      if (!p.take('(')) {
        urls.push({ url: p.astring(), params: null });
        continue;
      }
      const url = p.astring();
      const params: UrlFetchParam[] = [];
      while (p.take(' ')) {
        const name = p.atom().toUpperCase() as UrlFetchParam;
        if (!URLFETCH_PARAMS.includes(name)) p.fail(`Unknown URLFETCH parameter ${name}`);
        // RFC 5524 3.1: each at most once per URL, and not both BINARY and BODY.
        if (params.includes(name)) p.fail(`URLFETCH parameter ${name} given twice`);
        params.push(name);
      }
      p.expect(')');
      if (params.includes('BINARY') && params.includes('BODY')) p.fail('URLFETCH cannot give both BINARY and BODY');
      urls.push({ url, params: params.length > 0 ? params : null });
    }
    p.end();
    if (urls.length === 0) p.fail('URLFETCH needs a URL');
    return { urls };
  },
  async handle(session, { urls }) {
    const authority = session.ctx.urlauth;
    if (!authority) throw new MemgateError('URLAUTH is not available', { imapCode: 'CANNOT' });
    const parts: WireValue[] = ['URLFETCH'];
    for (const { url, params } of urls) {
      let value: WireValue[] = ['NIL'];
      try {
        const resolved = await authority.fetchAuthorized(url, { kind: 'imap', user: session.user! });
        if (params === null) value = [new Literal(resolved.bytes)];
        else value = urlMetadata(resolved, params, session.utf8) ?? ['NIL'];
      } catch (err) {
        if (!(err instanceof MemgateError)) throw err;
      }
      parts.push(quoteString(url), ...value);
    }
    session.sendUntagged(parts);
    return { text: 'URLFETCH completed' };
  },
});
