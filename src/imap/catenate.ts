// CATENATE (RFC 4469): an APPEND message made of text literals and IMAP URLs to messages or
// parts in the user's mailboxes (or authorized URLs), assembled here from the store, so the
// client never downloads and uploads the parts it reuses.
import { LimitError, MemgateError } from '../core/errors';
import type { Parser } from './wire/parser';
import type { Session } from './session';

export type CatenatePart = { kind: 'text'; bytes: Buffer } | { kind: 'url'; url: string };

/** After `CATENATE `: "(" part *(SP part) ")". */
export function parseCatenate(p: Parser): CatenatePart[] {
  p.expect('(');
  const parts: CatenatePart[] = [];
  do {
    if (p.matchWord('TEXT')) {
      p.sp();
      if (!p.atLiteral()) p.fail('CATENATE TEXT needs a literal');
      parts.push({ kind: 'text', bytes: p.literal() });
    } else if (p.matchWord('URL')) {
      p.sp();
      parts.push({ kind: 'url', url: p.astring() });
    } else {
      p.fail('Expected TEXT or URL in CATENATE');
    }
  } while (p.take(' '));
  p.expect(')');
  return parts;
}

/** The message bytes; [BADURL "url"] for a URL that does not resolve, [TOOBIG] past the limit. */
export async function assembleCatenate(session: Session, parts: readonly CatenatePart[]): Promise<Buffer> {
  const authority = session.ctx.urlauth;
  const limit = session.ctx.limits.maxLiteralSize;
  const chunks: Buffer[] = [];
  let size = 0;
  for (const part of parts) {
    let bytes: Buffer;
    if (part.kind === 'text') {
      bytes = part.bytes;
    } else {
      if (!authority) throw new MemgateError('CATENATE URLs are not available', { imapCode: 'CANNOT' });
      bytes = (await authority.fetchForSession(session.user!, part.url)).bytes;
    }
    size += bytes.length;
    if (size > limit) throw new LimitError('The catenated message is too big', 'TOOBIG');
    chunks.push(bytes);
  }
  return Buffer.concat(chunks, size);
}
