// Extended URLFETCH (RFC 5524, capability URLAUTH=BINARY): for a URL sent as
// `("url" param...)` the server answers parenthesized metadata items instead of one string:
//   BODYPARTSTRUCTURE  the structure of the part the URL names (the `body` of BODYSTRUCTURE);
//                      with BINARY also asked for, a leaf part shows the decoded form
//                      (encoding "binary", the decoded size and lines), as the data comes
//   BINARY             the part with its Content-Transfer-Encoding removed (RFC 3516 4.2):
//                      literal8 when it holds NUL, NIL when it cannot be decoded
//   BODY               the part as stored (what plain URLFETCH gives)
// A URL-PARTIAL range (RFC 5550) applies to the data given: the decoded bytes for BINARY.
import { parseMessage, type MimePart } from '../../mime/parse';
import { decodedSection, findPart } from '../../mime/section';
import { bodyStructure } from '../fetch/bodystructure';
import { Literal, type WireValue } from '../wire/encode';
import type { ResolvedUrl } from './authority';

export type UrlFetchParam = 'BODY' | 'BINARY' | 'BODYPARTSTRUCTURE';

export const URLFETCH_PARAMS: readonly UrlFetchParam[] = ['BODYPARTSTRUCTURE', 'BINARY', 'BODY'];

function lineCount(bytes: Buffer): number {
  let n = 0;
  for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) n++;
  return n;
}

function range(bytes: Buffer, partial: ResolvedUrl['partial']): Buffer {
  if (!partial) return bytes;
  const end = partial.length === null ? bytes.length : partial.offset + partial.length;
  return bytes.subarray(Math.min(partial.offset, bytes.length), Math.min(end, bytes.length));
}

/**
 * The metadata items for one resolved URL, in the order BODYPARTSTRUCTURE, BINARY, BODY;
 * null when a structure is asked for a section that is not a body part (HEADER, TEXT,
 * MIME: the grammar has no NIL for it), which answers the URL with NIL.
 */
export function urlMetadata(resolved: ResolvedUrl, params: readonly UrlFetchParam[], utf8 = false): WireValue[][] | null {
  const spec = resolved.section;
  const isPart = spec.text === undefined;
  const root = parseMessage(resolved.message);
  const node: MimePart | null = spec.part.length === 0 ? root : findPart(root, spec.part);
  // BINARY [] is the message as it is (RFC 3516: the top level has no encoding to remove).
  const decoded = isPart && node ? decodedSection(resolved.message, root, spec.part) : null;
  const binary = decoded && 'bytes' in decoded ? decoded.bytes : null;
  const items: WireValue[][] = [];
  for (const param of URLFETCH_PARAMS) {
    if (!params.includes(param)) continue;
    switch (param) {
      case 'BODYPARTSTRUCTURE': {
        if (!isPart || !node) return null;
        const leaf = node.contentType.type.toLowerCase() !== 'multipart' && node.message === undefined;
        const shown =
          params.includes('BINARY') && binary && leaf && spec.part.length > 0
            ? { ...node, encoding: 'binary', bodySize: binary.length, bodyLines: lineCount(binary) }
            : node;
        items.push(['BODYPARTSTRUCTURE', bodyStructure(resolved.message, shown, true, { utf8 })]);
        break;
      }
      case 'BINARY': {
        const data = binary ? range(binary, resolved.partial) : null;
        items.push(['BINARY', data ? new Literal(data, data.includes(0)) : 'NIL']);
        break;
      }
      case 'BODY':
        items.push(['BODY', new Literal(resolved.bytes)]);
        break;
    }
  }
  return items;
}
