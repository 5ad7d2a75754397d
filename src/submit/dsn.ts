// Delivery status notifications (RFC 3464, RFC 3462 multipart/report) that the outbox
// files in the sender's INBOX: when a message cannot be delivered, when it waits in the
// queue (NOTIFY=DELAY) and when it was handed to a next hop that reports nothing itself
// (NOTIFY=SUCCESS through Graph or Gmail: "relayed", RFC 3461 5.2.2).
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { findFields, parseHeaderBlock } from '../mime/headers';

export interface FailedRecipient {
  address: string;
  orcpt?: string;
  /** The next hop's reply, or memgate's own reason. */
  reply: string;
  /** RFC 3464 2.3.3; default failed. */
  action?: 'failed' | 'delayed' | 'relayed';
}

export interface DsnInput {
  sender: string;
  recipients: FailedRecipient[];
  original: Buffer;
  ret: 'FULL' | 'HDRS';
  envid?: string;
  arrival: Date;
  /** Why, in a sentence the user reads first. */
  summary: string;
  /** Delayed recipients: retried until then (RFC 3464 2.3.7 Will-Retry-Until). */
  willRetryUntil?: Date;
}

const SUBJECTS = {
  failed: 'Undelivered Mail Returned to Sender',
  delayed: 'Delayed Mail (still being retried)',
  relayed: 'Successful Mail Delivery Report',
};

const STATUS_FALLBACK = { failed: '5.0.0', delayed: '4.0.0', relayed: '2.0.0' };

const mailDate = (d: Date): string => d.toUTCString().replace('GMT', '+0000');

/** The enhanced status code in a reply (RFC 3463), else a generic permanent failure. */
export function statusOf(reply: string, fallback = '5.0.0'): string {
  const m = /(?:^|\s)([245]\.\d{1,3}\.\d{1,3})(?:\s|$)/.exec(reply);
  return m ? m[1] : fallback;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[^\x20-\x7e]/g, '?').trim();
}

/** The original's header block (text/rfc822-headers for RET=HDRS). */
function headerBlock(raw: Buffer): Buffer {
  const { bodyStart } = parseHeaderBlock(raw, 0, raw.length);
  return raw.subarray(0, bodyStart);
}

export function buildDsn(input: DsnInput): Buffer {
  const boundary = `memgate-dsn-${randomBytes(9).toString('hex')}`;
  const host = oneLine(os.hostname()) || 'memgate';
  const subject = findFields(parseHeaderBlock(input.original, 0, input.original.length).fields, 'Subject')[0];
  const lines = (...l: string[]): string => l.join('\r\n') + '\r\n';
  const human = [
    'This is the mail delivery system of memgate.',
    '',
    input.summary,
    '',
    ...input.recipients.map((r) => `  <${oneLine(r.address)}>: ${oneLine(r.reply)}`),
    '',
    subject ? `The message had the subject: ${oneLine(subject.value)}` : 'The original message is attached.',
  ];
  const perRecipient = input.recipients.map((r) => {
    const action = r.action ?? 'failed';
    return lines(
      ...(r.orcpt ? [`Original-Recipient: ${oneLine(r.orcpt)}`] : []),
      `Final-Recipient: rfc822; ${oneLine(r.address)}`,
      `Action: ${action}`,
      `Status: ${statusOf(r.reply, STATUS_FALLBACK[action])}`,
      `Diagnostic-Code: smtp; ${oneLine(r.reply)}`,
      ...(action === 'delayed' && input.willRetryUntil ? [`Will-Retry-Until: ${mailDate(input.willRetryUntil)}`] : []),
    );
  });
  // The worst news names the report.
  const actions = new Set(input.recipients.map((r) => r.action ?? 'failed'));
  const kind = actions.has('failed') ? 'failed' : actions.has('delayed') ? 'delayed' : 'relayed';
  const head = lines(
    `From: Mail Delivery System <MAILER-DAEMON@${host}>`,
    `To: <${oneLine(input.sender)}>`,
    `Subject: ${SUBJECTS[kind]}`,
    `Date: ${mailDate(new Date())}`,
    `Message-ID: <${randomBytes(12).toString('hex')}@${host}>`,
    'Auto-Submitted: auto-replied',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    ...human,
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    `Reporting-MTA: dns; ${host}`,
    ...(input.envid ? [`Original-Envelope-Id: ${oneLine(input.envid)}`] : []),
    `Arrival-Date: ${mailDate(input.arrival)}`,
    '',
  );
  const original = input.ret === 'FULL' ? input.original : headerBlock(input.original);
  return Buffer.concat([
    Buffer.from(head + perRecipient.join('\r\n'), 'latin1'),
    Buffer.from(
      lines(`--${boundary}`, `Content-Type: ${input.ret === 'FULL' ? 'message/rfc822' : 'text/rfc822-headers'}`, ''),
      'latin1',
    ),
    original,
    Buffer.from(`${original.length > 0 && original[original.length - 1] !== 0x0a ? '\r\n' : ''}--${boundary}--\r\n`, 'latin1'),
  ]);
}
