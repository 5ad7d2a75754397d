// Extended URLFETCH (RFC 5524, capability URLAUTH=BINARY): for a URL sent as
// `("url" param...)` the server answers parenthesized metadata items instead of one string:
//   BODYPARTSTRUCTURE  the structure of the part the URL names (the `body` of BODYSTRUCTURE);
//                      with BINARY also asked for, the sizes and lines are those of the
//                      decoded data and the encodings stay as declared (as Dovecot)
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
 * The structure of a part as its BINARY data comes (RFC 5524 with Dovecot as reference):
 * sizes and line counts of the decoded data, the encodings as the part declares them. The
 * part's MIME header with its decoded body is parsed again, and each part of that copy
 * takes the encoding of the part it came from.
 */
function decodedShape(raw: Buffer, node: MimePart, decoded: Buffer): { raw: Buffer; part: MimePart } {
  const copy = Buffer.concat([raw.subarray(node.headerStart, node.headerEnd), decoded]);
  const part = parseMessage(copy);
  const keep = (from: MimePart, to: MimePart): void => {
    to.encoding = from.encoding;
    if (from.message && to.message) keep(from.message, to.message);
    from.children.forEach((c, i) => to.children[i] && keep(c, to.children[i]));
  };
  keep(node, part);
  return { raw: copy, part };
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
        if (params.includes('BINARY') && binary && spec.part.length > 0) {
          const shown = decodedShape(resolved.message, node, binary);
          items.push(['BODYPARTSTRUCTURE', bodyStructure(shown.raw, shown.part, true, { utf8 })]);
        } else {
          items.push(['BODYPARTSTRUCTURE', bodyStructure(resolved.message, node, true, { utf8 })]);
        }
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
  // One parenthesized list of all the items asked for, as RFC 5524 shows and Dovecot answers.
  return [items.flat()];
}
