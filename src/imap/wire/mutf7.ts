// Modified UTF-7 mailbox names (RFC 3501 5.1.3), still used by IMAP4rev1 clients.
import { ProtocolError } from '../../core/errors';

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,';

/** UTF-8 name -> modified UTF-7. */
export function encodeMutf7(name: string): string {
  let out = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const bytes: number[] = [];
    for (const unit of pending) bytes.push(unit >> 8, unit & 0xff);
    let bits = 0;
    let value = 0;
    out += '&';
    for (const b of bytes) {
      value = (value << 8) | b;
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out += B64[(value >> bits) & 0x3f];
      }
    }
    if (bits > 0) out += B64[(value << (6 - bits)) & 0x3f];
    out += '-';
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += code === 0x26 ? '&-' : name[i];
    } else {
      pending.push(code);
    }
  }
  flush();
  return out;
}

/** Modified UTF-7 -> UTF-8; throws ProtocolError on an invalid encoding. */
export function decodeMutf7(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const ch = name[i];
    const code = name.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) throw new ProtocolError('Mailbox name is not valid modified UTF-7 (8-bit character)');
    if (ch !== '&') {
      out += ch;
      continue;
    }
    const end = name.indexOf('-', i + 1);
    if (end < 0) throw new ProtocolError('Mailbox name is not valid modified UTF-7 (unterminated &)');
    const chunk = name.slice(i + 1, end);
    i = end;
    if (chunk === '') {
      out += '&';
      continue;
    }
    let bits = 0;
    let value = 0;
    const units: number[] = [];
    for (const c of chunk) {
      const v = B64.indexOf(c);
      if (v < 0) throw new ProtocolError('Mailbox name is not valid modified UTF-7 (bad base64)');
      value = ((value << 6) | v) & 0xffffff;
      bits += 6;
      if (bits >= 16) {
        bits -= 16;
        units.push((value >> bits) & 0xffff);
      }
    }
    if (bits >= 6 || (value & ((1 << bits) - 1)) !== 0 || units.length === 0) {
      throw new ProtocolError('Mailbox name is not valid modified UTF-7 (bad padding)');
    }
    const decoded = String.fromCharCode(...units);
    // RFC 3501: printable ASCII must not be encoded.
    if (/[\x20-\x7e]/.test(decoded)) throw new ProtocolError('Mailbox name is not valid modified UTF-7 (encoded ASCII)');
    out += decoded;
  }
  return out;
}
