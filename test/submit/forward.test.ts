// Forward without download (LEMONADE): IMAP CATENATE builds a draft from new text plus the
// URL of an attachment already in INBOX, GENURLAUTH authorizes the draft for submit+user,
// and BURL on submission sends it: the relay gets the whole message byte-correct while the
// client sent only the new text.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';
import { setupSending, SmtpRaw, startSink, type Sink } from './helpers';

const ATTACHMENT = Buffer.alloc(300 * 1024);
for (let i = 0; i < ATTACHMENT.length; i++) ATTACHMENT[i] = (i * 7919) % 251;
const ATTACHMENT_B64 = (ATTACHMENT.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n') + '\r\n';
const PART2_MIME = 'Content-Type: application/octet-stream; name="report.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n';
const ORIGINAL = Buffer.from(
  'From: <boss@remote.test>\r\nTo: <fran@example.org>\r\nSubject: report\r\nMIME-Version: 1.0\r\n' +
    'Content-Type: multipart/mixed; boundary="orig"\r\n\r\n' +
    '--orig\r\nContent-Type: text/plain\r\n\r\nThe report is attached.\r\n' +
    `--orig\r\n${PART2_MIME}${ATTACHMENT_B64}--orig--\r\n`,
  'latin1',
);

describe('forward without download: CATENATE + URLAUTH + BURL', function () {
  this.timeout(60000);
  let server: TestServer;
  let sink: Sink;
  let imap: RawClient;
  let inboxValidity: number;

  before(async () => {
    server = await startTestServer();
    sink = await startSink();
    await server.addUser('fran', 'fran-pass');
    const user = await setupSending(server, 'fran', ['fran@example.org'], sink.port);
    const inbox = await server.memgate.store.getMailbox(user.id, 'INBOX');
    inboxValidity = inbox!.uidValidity;
    await server.memgate.store.appendMessages(user.id, inbox!.id, [{ raw: ORIGINAL, flags: [] }]);
    imap = await RawClient.connect(server.port);
    await imap.command('l', 'LOGIN fran fran-pass');
  });
  after(async () => {
    imap?.close();
    await server?.stop();
    await sink?.close();
  });

  const head =
    'From: <fran@example.org>\r\nTo: <gus@remote.test>\r\nSubject: Fwd: report\r\nMIME-Version: 1.0\r\n' +
    'Content-Type: multipart/mixed; boundary="fwd"\r\n\r\n--fwd\r\nContent-Type: text/plain\r\n\r\nSee the report below.\r\n--fwd\r\n';
  const tail = '\r\n--fwd--\r\n';

  async function catenateDraft(): Promise<{ uidValidity: number; uid: number; sent: number }> {
    const url = (s: string) => `/INBOX;UIDVALIDITY=${inboxValidity}/;UID=1/;SECTION=${s}`;
    const cmd = `APPEND Drafts (\\Draft) CATENATE (TEXT {${head.length}+}\r\n${head} URL "${url('2.MIME')}" URL "${url('2')}" TEXT {${tail.length}+}\r\n${tail})`;
    const reply = await imap.command('c', cmd);
    const m = /c OK \[APPENDUID (\d+) (\d+)\]/.exec(reply);
    assert.ok(m, reply);
    return { uidValidity: Number(m[1]), uid: Number(m[2]), sent: Buffer.byteLength(cmd) };
  }

  async function genurlauth(rump: string): Promise<string> {
    const reply = await imap.command('g', `GENURLAUTH "${rump}" INTERNAL`);
    const m = /\* GENURLAUTH "([^"]+)"/.exec(reply);
    assert.ok(m, reply);
    return m[1];
  }

  async function burl(url: string): Promise<string> {
    const { client } = await SmtpRaw.connect(server.memgate.submission.port!);
    await client.login('fran', 'fran-pass');
    assert.match(await client.send('MAIL FROM:<fran@example.org>'), /^250 /);
    assert.match(await client.send('RCPT TO:<gus@remote.test>'), /^250 /);
    const reply = await client.send(`BURL ${url} LAST`);
    client.close();
    return reply;
  }

  it('advertises CATENATE, URLAUTH and BURL imap', async () => {
    assert.match(await imap.command('c0', 'CAPABILITY'), /^\* CAPABILITY .*\bCATENATE\b.*\bURLAUTH\b/m);
    const { client } = await SmtpRaw.connect(server.memgate.submission.port!);
    assert.match(await client.send('EHLO client.test'), /^250[- ]BURL imap\r?$/m);
    client.close();
  });

  it('sends the forward byte-correct while the client sent only the new text', async () => {
    const draft = await catenateDraft();
    const rump = `imap://fran@localhost/Drafts;UIDVALIDITY=${draft.uidValidity}/;UID=${draft.uid};URLAUTH=submit+fran`;
    const url = await genurlauth(rump);
    assert.match(url, new RegExp(`^${rump.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:INTERNAL:[0-9a-f]{64}$`));
    // submit+ URLs are for the submission server only.
    assert.match(await imap.command('u', `URLFETCH "${url}"`), /\* URLFETCH "[^"]+" NIL\r\n/);
    const before = sink.messages.length;
    const reply = await burl(url);
    assert.match(reply, /^250 2\.6\.0 Message queued as \d+/);
    await sink.waitFor(before + 1);
    // BODY[2] ends before the CRLF that belongs to the next boundary line (RFC 2046 5.1.1).
    const expected = Buffer.from(head + PART2_MIME + ATTACHMENT_B64.slice(0, -2) + tail, 'latin1');
    assert.ok(sink.messages[before].raw.equals(expected), 'the relay got the assembled message');
    assert.ok(draft.sent + reply.length < ATTACHMENT_B64.length / 50, `the client sent ${draft.sent} bytes`);
    // RFC 5550: the draft is marked $Submitted once sent.
    const user = (await server.memgate.store.listUsers()).find((u) => u.name === 'fran')!;
    const drafts = await server.memgate.store.getMailbox(user.id, 'Drafts');
    const deadline = Date.now() + 20000;
    for (;;) {
      const m = (await server.memgate.store.listMessages(user.id, drafts!.id)).find((x) => x.uid === draft.uid);
      if (m?.flags.includes('$Submitted') && !m.flags.includes('$SubmitPending')) break;
      if (Date.now() > deadline) throw new Error(`draft flags: ${m?.flags}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  it('URLFETCH returns authuser URLs and URL-PARTIAL ranges', async () => {
    const rump = `imap://fran@localhost/INBOX;UIDVALIDITY=${inboxValidity}/;UID=1/;SECTION=1/;PARTIAL=0.10;URLAUTH=authuser`;
    const url = await genurlauth(rump);
    const reply = await imap.command('u', `URLFETCH "${url}"`);
    assert.match(reply, /\* URLFETCH "[^"]+" \{10\}\r\nThe report\r\n/);
  });

  it('refuses forged, expired, reset and foreign URLs with 554 5.6.6, and CATENATE bad URLs with [BADURL]', async () => {
    const draft = await catenateDraft();
    const rump = `imap://fran@localhost/Drafts;UIDVALIDITY=${draft.uidValidity}/;UID=${draft.uid};URLAUTH=submit+fran`;
    const url = await genurlauth(rump);
    const forged = url.slice(0, -1) + (url.endsWith('0') ? '1' : '0');
    assert.match(await burl(forged), /^554 5\.6\.6 /);
    const expiredRump = `imap://fran@localhost/Drafts;UIDVALIDITY=${draft.uidValidity}/;UID=${draft.uid};EXPIRE=2001-01-01T00:00:00Z;URLAUTH=submit+fran`;
    assert.match(await burl(await genurlauth(expiredRump)), /^554 5\.6\.6 /);
    const other = `imap://fran@localhost/Drafts;UIDVALIDITY=${draft.uidValidity}/;UID=${draft.uid};URLAUTH=submit+someoneelse`;
    assert.match(await burl(await genurlauth(other)), /^554 5\.6\.6 /);
    assert.match(await imap.command('r', 'RESETKEY Drafts INTERNAL'), /r OK/);
    assert.match(await burl(url), /^554 5\.6\.6 /);
    assert.match(await imap.command('g2', `GENURLAUTH "imap://mallory@localhost/INBOX;UIDVALIDITY=1/;UID=1;URLAUTH=anonymous" INTERNAL`), /g2 NO \[BADURL "imap:\/\/mallory@/);
    const bad = await imap.command('c2', `APPEND Drafts CATENATE (TEXT {2+}\r\nhi URL "/INBOX;UIDVALIDITY=${inboxValidity}/;UID=99")`);
    assert.match(bad, /c2 NO \[BADURL "\/INBOX;UIDVALIDITY=\d+\/;UID=99"\]/);
    assert.match(await imap.command('c3', 'APPEND Drafts CATENATE (FOO "x")'), /c3 BAD /);
    assert.match(await imap.command('n', 'NOOP'), /n OK/);
  });
});
