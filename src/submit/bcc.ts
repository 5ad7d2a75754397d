// Bcc before delivery (RFC 6409 8.1, RFC 5322 3.6.3): the recipients are already in the
// envelope, so the Bcc fields leave the message before it goes out, byte for byte
// otherwise; the sender's Sent copy keeps them, as mail clients expect.
import { parseHeaderBlock } from '../mime/headers';

const BLIND = new Set(['bcc', 'resent-bcc']);

/** The message without its Bcc and Resent-Bcc fields (the same Buffer when it has none). */
export function withoutBcc(raw: Buffer): Buffer {
  const { fields } = parseHeaderBlock(raw, 0, raw.length);
  const blind = fields.filter((f) => BLIND.has(f.name.toLowerCase()));
  if (blind.length === 0) return raw;
  const parts: Buffer[] = [];
  let from = 0;
  for (const f of blind) {
    parts.push(raw.subarray(from, f.start));
    from = f.end;
  }
  parts.push(raw.subarray(from));
  return Buffer.concat(parts);
}
