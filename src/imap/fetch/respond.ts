// One message's FETCH response (RFC 9051 7.5.2): `* <seq> FETCH (<msg-att>)` as wire chunks.
// Pure: what it needs (view data, summary, raw bytes) is handed in.
import type { MailboxMessage } from '../../core/ports';
import { decodedSection, sectionBytes } from '../../mime/section';
import { parseMessage, type MimePart } from '../../mime/parse';
import { flagList } from '../flags';
import { emailId, THREAD_ID_NIL } from '../object-id';
import { Literal, nstring, serialize } from '../wire/encode';
import type { ByteRange, FetchItem } from './items';
import type { ContentSummary, RenderOptions } from './summary';

export interface MessageFacts {
  seq: number;
  message: MailboxMessage;
  /** Present when an item needs ENVELOPE/BODY/BODYSTRUCTURE or a section. */
  summary: ContentSummary | null;
  /** Present when an item needs the message's bytes. */
  raw: Buffer | null;
  /** The parsed message, when the caller has it already; parsed from `raw` otherwise. */
  tree?: MimePart;
}

export interface FetchResponse {
  chunks: Array<string | Buffer>;
  /** A BINARY item met a Content-Transfer-Encoding it cannot decode and was left out. */
  unknownCte: boolean;
}

/**
 * Builds the response; an item whose data the caller did not load is a bug (thrown).
 * Gives no chunks when every item was left out (an empty msg-att is not allowed).
 */
export function fetchResponse(items: readonly FetchItem[], facts: MessageFacts, opts: RenderOptions): FetchResponse {
  const { message } = facts;
  const atts: Array<Array<string | Buffer>> = [];
  let unknownCte = false;
  for (const item of items) {
    switch (item.kind) {
      case 'uid':
        atts.push([`UID ${message.uid}`]);
        break;
      case 'flags':
        atts.push([`FLAGS ${flagList(message.flags)}`]);
        break;
      case 'internalDate':
        atts.push([`INTERNALDATE "${internalDate(message.internalDate)}"`]);
        break;
      case 'rfc822Size':
        atts.push([`RFC822.SIZE ${message.size}`]);
        break;
      case 'envelope':
        atts.push(['ENVELOPE ', needSummary(facts).wire('envelope', opts)]);
        break;
      case 'body':
        atts.push(['BODY ', needSummary(facts).wire('body', opts)]);
        break;
      case 'bodyStructure':
        atts.push(['BODYSTRUCTURE ', needSummary(facts).wire('bodyStructure', opts)]);
        break;
      case 'section': {
        const raw = needRaw(facts);
        const bytes = sectionBytes(raw, treeOf(facts), item.section, { messageGlobal: opts.messageGlobal });
        // A section that does not exist is an empty string, as Dovecot 2.3 answers it.
        const slice = cut(bytes ?? Buffer.alloc(0), item.range);
        atts.push(serialize(new Literal(withoutNul(slice)), [responseName(item.label, item.range), ' ']));
        break;
      }
      case 'binary': {
        const decoded = decodedSection(needRaw(facts), treeOf(facts), item.part, { messageGlobal: opts.messageGlobal });
        if (decoded !== null && 'error' in decoded) {
          unknownCte = true;
          break;
        }
        const slice = cut(decoded?.bytes ?? Buffer.alloc(0), item.range);
        // RFC 3516 4.2: literal8 only when the data needs it (it holds NUL).
        const literal = new Literal(slice, slice.includes(0));
        atts.push(serialize(literal, [responseName(item.label, item.range), ' ']));
        break;
      }
      case 'binarySize': {
        const decoded = decodedSection(needRaw(facts), treeOf(facts), item.part, { messageGlobal: opts.messageGlobal });
        if (decoded !== null && 'error' in decoded) {
          unknownCte = true;
          break;
        }
        atts.push([`${item.label} ${decoded?.bytes.length ?? 0}`]);
        break;
      }
      case 'preview':
        // UTF-8 text: quoted where the session allows it, else a literal (8-bit is fine there).
        atts.push(serialize(nstring(needSummary(facts).preview, opts.utf8), ['PREVIEW ']));
        break;
      case 'modseq':
        atts.push([`MODSEQ (${message.modseq})`]);
        break;
      case 'emailId':
        atts.push([`EMAILID (${emailId(message)})`]);
        break;
      case 'threadId':
        atts.push([`THREADID ${THREAD_ID_NIL}`]);
        break;
      default: {
        const never: never = item;
        throw new Error(`unhandled fetch item ${JSON.stringify(never)}`);
      }
    }
  }
  if (atts.length === 0) return { chunks: [], unknownCte };
  const chunks: Array<string | Buffer> = [`* ${facts.seq} FETCH (`];
  atts.forEach((att, i) => {
    if (i > 0) chunks.push(' ');
    chunks.push(...att);
  });
  chunks.push(')\r\n');
  return { chunks, unknownCte };
}

function needSummary(facts: MessageFacts): ContentSummary {
  if (!facts.summary) throw new Error('FETCH: content summary not loaded');
  return facts.summary;
}

function treeOf(facts: MessageFacts): MimePart {
  facts.tree ??= parseMessage(needRaw(facts));
  return facts.tree;
}

function needRaw(facts: MessageFacts): Buffer {
  if (!facts.raw) throw new Error('FETCH: message content not loaded');
  return facts.raw;
}

/** `BODY[...]<offset>`: the response names the origin octet only (RFC 9051 7.5.2). */
function responseName(label: string, range: ByteRange | null): string {
  return range ? `${label}<${range.offset}>` : label;
}

/** A partial fetch; an offset past the end gives an empty string (RFC 9051 6.4.5). */
export function cut(bytes: Buffer, range: ByteRange | null): Buffer {
  if (!range) return bytes;
  if (range.offset >= bytes.length) return bytes.subarray(0, 0);
  const end = range.length === null ? bytes.length : Math.min(bytes.length, range.offset + range.length);
  return bytes.subarray(range.offset, end);
}

/** A literal cannot hold NUL (RFC 9051 4.3, CHAR8); like Dovecot, send 0x80 instead. */
export function withoutNul(bytes: Buffer): Buffer {
  if (!bytes.includes(0)) return bytes;
  const copy = Buffer.from(bytes);
  for (let i = copy.indexOf(0); i >= 0; i = copy.indexOf(0, i + 1)) copy[i] = 0x80;
  return copy;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** date-time (RFC 9051 9), in UTC: `dd-Mon-yyyy hh:mm:ss +0000`. */
export function internalDate(d: Date): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return (
    `${two(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${String(d.getUTCFullYear()).padStart(4, '0')} ` +
    `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`
  );
}
