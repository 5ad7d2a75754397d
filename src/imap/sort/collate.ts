// The i;unicode-casemap comparator (RFC 5051), which I18NLEVEL=1 (RFC 5255 4) makes the
// default for SORT: each character is mapped to its titlecase form, the result is put in
// Unicode normalization form KD, and keys are compared octet by octet in UTF-8 (which is
// code point order).

/** Characters whose titlecase differs from their uppercase (the Latin digraphs). */
const TITLECASE: Record<string, string> = {
  '\u01c4': '\u01c5',
  '\u01c5': '\u01c5',
  '\u01c6': '\u01c5',
  '\u01c7': '\u01c8',
  '\u01c8': '\u01c8',
  '\u01c9': '\u01c8',
  '\u01ca': '\u01cb',
  '\u01cb': '\u01cb',
  '\u01cc': '\u01cb',
  '\u01f1': '\u01f2',
  '\u01f2': '\u01f2',
  '\u01f3': '\u01f2',
};

/**
 * The comparison key of a string. Simple (one character to one character) mappings only,
 * as RFC 5051 2 asks: a character whose uppercase is longer (ß -> SS) stays as it is.
 */
export function casemapKey(text: string): string {
  let out = '';
  let ascii = true;
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return text.toUpperCase();
  for (const ch of text) {
    const title = TITLECASE[ch];
    if (title !== undefined) {
      out += title;
      continue;
    }
    const upper = ch.toUpperCase();
    out += upper.length === ch.length ? upper : ch;
  }
  return out.normalize('NFKD');
}

/** Code point order (as UTF-8 octets compare), not UTF-16 code unit order. */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (supplementary planes) sort after the rest of the BMP in code point order.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}
