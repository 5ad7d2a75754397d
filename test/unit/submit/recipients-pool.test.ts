// Pure parts of sending: reconciling the envelope with the To/Cc/Bcc fields for backends
// that read recipients from the message, the Message-ID a retry looks for, and the pool
// that keeps one Sender per account.
import assert from 'node:assert/strict';
import { headerRecipients, messageIdOf, notInEnvelope, withEnvelopeRecipients } from '../../../src/submit/header-recipients';
import type { Envelope, Sender, SendResult } from '../../../src/submit/ports';
import { SenderPool } from '../../../src/submit/sender-pool';

const env = (...addresses: string[]): Envelope => ({ mailFrom: 'me@example.org', recipients: addresses.map((address) => ({ address })) });
const msg = (head: string, body = 'Body.\r\n'): Buffer => Buffer.from(`${head}\r\n${body}`, 'latin1');

describe('header recipients and the envelope', () => {
  it('reads To, Cc and Bcc, groups and folding included, leaving out broken entries', () => {
    const raw = msg('From: me@example.org\r\nTo: "Doe, Jo" <jo@example.org>,\r\n Ann <ANN@Example.org>\r\nCc: team: x@example.org, y@example.org;\r\nBcc: undisclosed-recipients:;\r\nTo: nobody\r\n');
    assert.deepEqual(headerRecipients(raw), ['jo@example.org', 'ANN@Example.org', 'x@example.org', 'y@example.org']);
  });

  it('names the header recipients the envelope leaves out, case-insensitively', () => {
    const raw = msg('To: a@example.org, B@example.org\r\nCc: c@example.org\r\n');
    assert.deepEqual(notInEnvelope(raw, env('A@EXAMPLE.ORG', 'b@example.org', 'z@example.org')), ['c@example.org']);
    assert.deepEqual(notInEnvelope(raw, env('a@example.org', 'b@example.org', 'c@example.org')), []);
  });

  it('adds envelope-only recipients as a Bcc field before the blank line, and changes nothing else', () => {
    const head = 'From: me@example.org\r\nTo: a@example.org\r\nSubject: s\r\n';
    const raw = msg(head);
    assert.equal(withEnvelopeRecipients(raw, env('a@example.org')), raw, 'the same Buffer when nothing is missing');
    assert.equal(withEnvelopeRecipients(raw, env('a@example.org', 'hidden@example.org')).toString('latin1'), `${head}Bcc: <hidden@example.org>\r\n\r\nBody.\r\n`);
  });

  it('extends an existing Bcc field, keeps LF-only line ends, folds long lists, copes with a message without body', () => {
    const withBcc = msg('To: a@example.org\r\nBcc: old@example.org\r\nSubject: s\r\n');
    assert.equal(withEnvelopeRecipients(withBcc, env('a@example.org', 'old@example.org', 'new@example.org')).toString('latin1'), 'To: a@example.org\r\nBcc: old@example.org, <new@example.org>\r\nSubject: s\r\n\r\nBody.\r\n');
    const lf = Buffer.from('To: a@example.org\n\nBody.\n');
    assert.equal(withEnvelopeRecipients(lf, env('b@example.org')).toString(), 'To: a@example.org\nBcc: <b@example.org>\n\nBody.\n');
    const many = Array.from({ length: 6 }, (_, i) => `recipient-number-${i}@example.org`);
    const folded = withEnvelopeRecipients(msg('To: a@example.org\r\n'), env(...many)).toString('latin1');
    for (const line of folded.split('\r\n')) assert.ok(line.length <= 78, line);
    assert.deepEqual(headerRecipients(Buffer.from(folded, 'latin1')), ['a@example.org', ...many]);
    assert.equal(withEnvelopeRecipients(Buffer.from('To: a@example.org'), env('b@example.org')).toString(), 'To: a@example.org\r\nBcc: <b@example.org>\r\n\r\n');
  });

  it('finds the Message-ID without its brackets', () => {
    assert.equal(messageIdOf(msg('Subject: x\r\nMessage-ID:\r\n <abc.123@host.example>\r\n')), 'abc.123@host.example');
    assert.equal(messageIdOf(msg('Subject: x\r\n')), null);
    assert.equal(messageIdOf(msg('Message-ID: not-an-id\r\n')), null);
  });
});

class FakeSender implements Sender {
  readonly capabilities = { savesSentCopy: false };
  sent = 0;
  closed = 0;
  async send(): Promise<SendResult> {
    this.sent++;
    return { accepted: ['x@example.org'], rejected: [], deferred: [] };
  }
  close(): void {
    this.closed++;
  }
}

describe('SenderPool', () => {
  it('keeps one Sender per account, replaces it when the fingerprint changes, closes it when idle', async () => {
    const pool = new SenderPool(1000);
    const made: FakeSender[] = [];
    const make = (): FakeSender => {
      const s = new FakeSender();
      made.push(s);
      return s;
    };
    const caps = { savesSentCopy: false };
    pool.handle('1', 'v1', caps, make);
    assert.equal(made.length, 0, 'a handle builds nothing until it sends');
    for (let i = 0; i < 3; i++) {
      const h = pool.handle('1', 'v1', caps, make);
      await h.send(env('x@example.org'), Buffer.from('x'));
      h.close?.();
    }
    assert.deepEqual([made.length, made[0]!.sent, made[0]!.closed], [1, 3, 0], 'reused; close() on a handle leaves it open');
    await pool.handle('2', 'v1', caps, make).send(env('x@example.org'), Buffer.from('x'));
    assert.equal(made.length, 2, 'another account, another Sender');
    await pool.handle('1', 'v2', caps, make).send(env('x@example.org'), Buffer.from('x'));
    assert.deepEqual([made.length, made[0]!.closed], [3, 1], 'new settings: the old Sender closed');
    pool.rekey('1', 'v3');
    await pool.handle('1', 'v3', caps, make).send(env('x@example.org'), Buffer.from('x'));
    assert.equal(made.length, 3, 'rekeyed: kept');
    await new Promise((r) => setTimeout(r, 2600));
    assert.deepEqual(made.map((s) => s.closed), [1, 1, 1], 'idle Senders closed');
    pool.close();
  });
});
