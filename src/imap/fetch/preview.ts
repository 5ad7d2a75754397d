// PREVIEW (RFC 8970): a short plain-text excerpt of a message, for list views. Taken from
// the first text/plain part that is not an attachment (or, failing that, the first
// text/html one with its markup removed), decoded, quoted lines dropped, whitespace
// collapsed, at most PREVIEW_LENGTH characters (RFC 8970 3 allows up to 256).
import type { MimePart } from '../../mime/parse';
import { partText } from '../../mime/text';

export const PREVIEW_LENGTH = 200;

/** The preview of a parsed message; "" when it has no text to show (RFC 8970 3). */
export function previewText(raw: Buffer, root: MimePart): string {
  const plain = findText(root, 'plain');
  if (plain) return excerpt(withoutQuotes(partText(raw, plain)));
  const html = findText(root, 'html');
  if (html) return excerpt(htmlToText(partText(raw, html)));
  return '';
}

/** Depth-first, skipping attachments and attached messages. */
function findText(part: MimePart, subtype: string): MimePart | null {
  if (part.children.length > 0) {
    for (const child of part.children) {
      const found = findText(child, subtype);
      if (found) return found;
    }
    return null;
  }
  if (part.message !== undefined) return null;
  if (part.disposition?.value.toLowerCase() === 'attachment') return null;
  const type = part.contentType;
  return type.type.toLowerCase() === 'text' && type.subtype.toLowerCase() === subtype ? part : null;
}

/** Lines quoted from an earlier message ("> ...") tell nothing new. */
function withoutQuotes(text: string): string {
  return text
    .split(/\r?\n/)
    .filter((line) => !line.startsWith('>'))
    .join('\n');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, name: string) => {
      if (name[0] === '#') {
        const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[name.toLowerCase()] ?? whole;
    });
}

/** Whitespace (and control characters) collapsed, cut at a character boundary. */
function excerpt(text: string): string {
  const flat = text.replace(/[\s\u0000-\u001f\u007f]+/g, ' ').trim();
  const chars = Array.from(flat);
  return chars.length <= PREVIEW_LENGTH ? flat : chars.slice(0, PREVIEW_LENGTH).join('').trimEnd();
}
