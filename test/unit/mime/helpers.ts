// Shared helpers for the MIME unit tests.
import { Literal, WireValue, serialize, toBuffer } from '../../../src/imap/wire/encode';

/** A message from text lines joined with CRLF (write "\n" in the source, get "\r\n"). */
export function crlf(text: string): Buffer {
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1');
}

/** A WireValue as it goes on the wire (latin1, so 8-bit bytes stay visible one per char). */
export function wire(value: WireValue): string {
  return toBuffer(serialize(value)).toString('latin1');
}

export { Literal };
