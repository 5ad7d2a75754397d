// Flags on the wire (RFC 9051 2.3.2).
import { ProtocolError } from '../core/errors';

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'];
const CANONICAL = new Map(SYSTEM_FLAGS.map((f) => [f.toLowerCase(), f]));

export function flagList(flags: readonly string[]): string {
  return '(' + flags.join(' ') + ')';
}

/**
 * Checks flags a client wants to store: system flags get their canonical spelling,
 * \Recent and unknown system flags are refused (RFC 9051 2.3.2).
 */
export function clientFlags(flags: string[]): string[] {
  const out: string[] = [];
  for (const f of flags) {
    if (f.startsWith('\\')) {
      const canonical = CANONICAL.get(f.toLowerCase());
      if (!canonical) {
        if (f.toLowerCase() === '\\recent') throw new ProtocolError('\\Recent cannot be stored');
        throw new ProtocolError(`Unknown system flag ${f}`);
      }
      out.push(canonical);
    } else out.push(f);
  }
  return out;
}
