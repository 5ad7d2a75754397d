// Submission through a Graph account, end to end: nodemailer and swaks submit to memgate,
// the outbox worker sends with Graph sendMail (base64 MIME) to the emulator, and the sync
// engine brings Graph's own Sent Items copy back as the only copy in Sent. Throttling,
// refusals, refused credentials and BURL drafts (RFC 5550 keywords) on that path.
import assert from 'node:assert/strict';
import { startGraphEmulator } from '../emulators/graph/server';
import type { SentRecord } from '../emulators/graph/state';
import { graphAccountCredentials, graphAccountSettings } from '../adapters/graph-helpers';
import { RawClient } from '../support/raw-client';
import { eventually } from '../sync/helpers';
import { addBackendUser, compose, firstInInbox, mailboxRaw, outboxRows, sendingSuite, submitRaw } from './backends';
import { requireSwaks, SmtpRaw, swaks } from './helpers';

describe('submission through Graph sendMail (emulator)', function () {
  this.timeout(90000);
  // A "delayed" DSN (NOTIFY=DELAY) after one second in the queue.
  const suite = sendingSuite(() => startGraphEmulator(), { settings: { outboxDelayNotice: 1 } });
  let n = 0;

  async function graphUser(settings: Record<string, unknown> = {}, credentials?: Buffer) {
    const name = `gsend${++n}`;
    const address = `${name}@contoso.com`;
    const mailbox = suite.emu.state.addMailbox(address);
    const u = await addBackendUser(suite.server, name, {
      kind: 'graph',
      settings: graphAccountSettings(suite.emu, address, settings),
      credentials: credentials ?? graphAccountCredentials(suite.server.dataDir),
    });
    // The first sync has made the mailboxes (Sent, Drafts...).
    await eventually(async () => (await suite.server.memgate.store.getMailbox(u.userId, 'Sent')) !== null, 20000, 'the first sync');
    return { ...u, name, address, mailbox, login: { user: name, pass: u.password } };
  }

  const sentBy = (address: string): SentRecord[] => suite.emu.state.sent.filter((s) => s.mailbox === address);
  const sendMailRequests = (): Array<{ status: number | 'dropped' }> => suite.emu.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/sendMail'));

  async function settledOutbox(count: number): Promise<void> {
    await eventually(async () => {
      const rows = await outboxRows(suite.server);
      return rows.length >= count && rows.every((r) => r.state !== 'queued');
    }, 30000, 'the outbox to settle');
  }

  it('sends what nodemailer composes, byte for byte; the only copy in Sent is the one Graph saved', async () => {
    const u = await graphUser();
    const bob = suite.emu.state.addMailbox(`bob${n}@contoso.com`);
    const raw = await compose({ from: `Alice <${u.address}>`, to: bob.address, subject: 'graph byte-exact', text: 'Hello from Graph. Ünïcödé.', messageId: `<graph-exact-${n}@test>` });
    assert.match(await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: [bob.address] }, raw), /^250 2\.6\.0 /);
    await eventually(() => sentBy(u.address).length === 1, 20000, 'sendMail');
    const [sent] = sentBy(u.address);
    assert.ok(sent.mime.equals(raw), 'Graph got the submitted bytes');
    assert.deepEqual(sent.recipients, [bob.address]);
    assert.equal(bob.inFolder(bob.wellKnown('inbox').id).length, 1, 'delivered to the recipient');
    await settledOutbox(1);
    const [row] = (await outboxRows(suite.server)).slice(-1);
    assert.deepEqual([row.state, row.copy_filed], ['sent', false]);
    assert.match(row.remote_reply ?? '', /202/);
    // Graph's own Sent Items copy reaches Sent through the sync, and nothing else does.
    await eventually(async () => (await mailboxRaw(suite.server, u.userId, 'Sent')).length === 1, 20000, 'the Sent Items copy in Sent');
    await suite.server.memgate.sync.pollNow(u.accountId);
    const copies = await mailboxRaw(suite.server, u.userId, 'Sent');
    assert.equal(copies.length, 1);
    assert.ok(copies[0].equals(raw), 'Sent holds the bytes that were sent');
  });

  it('delivers envelope-only (Bcc) recipients as Bcc, which Graph keeps in Sent Items only', async () => {
    const u = await graphUser();
    const bob = suite.emu.state.addMailbox(`bob${n}@contoso.com`);
    const carol = suite.emu.state.addMailbox(`carol${n}@contoso.com`);
    const raw = await compose({ from: u.address, to: bob.address, bcc: carol.address, subject: 'graph bcc', text: 'Blind copy.' });
    assert.doesNotMatch(raw.toString(), /^Bcc:/im, 'nodemailer leaves Bcc out of the message');
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: [bob.address, carol.address] }, raw);
    await eventually(() => sentBy(u.address).length === 1, 20000, 'sendMail');
    const [sent] = sentBy(u.address);
    assert.deepEqual([...sent.recipients].sort(), [bob.address, carol.address].sort());
    const text = sent.mime.toString('latin1');
    assert.match(text, new RegExp(`^Bcc: <${carol.address}>\\r\\n`, 'm'));
    assert.ok(Buffer.from(text.replace(/^Bcc: [^\r\n]*\r\n/m, ''), 'latin1').equals(raw), 'only the Bcc field was added');
    const carolCopy = carol.inFolder(carol.wellKnown('inbox').id);
    assert.equal(carolCopy.length, 1, 'the blind recipient got it');
    assert.doesNotMatch(carolCopy[0].mime.toString(), /^Bcc:/im);
    await eventually(async () => (await mailboxRaw(suite.server, u.userId, 'Sent')).some((m) => /^Bcc: /m.test(m.toString())), 20000, 'the Sent copy with Bcc');
  });

  it('refuses at submission a header recipient the envelope leaves out (Graph would deliver to it), queueing nothing', async () => {
    const u = await graphUser();
    const queued = (await outboxRows(suite.server)).length;
    const raw = await compose({ from: u.address, to: ['x@remote.test', 'y@remote.test'], subject: 'subset' });
    await assert.rejects(submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['x@remote.test'] }, raw), (err: Error & { response?: string }) => {
      assert.match(err.response ?? err.message, /^554 5\.3\.3 .*<y@remote\.test>/);
      return true;
    });
    assert.equal((await outboxRows(suite.server)).length, queued);
  });

  it('sends with swaks (STARTTLS, AUTH, PIPELINING) through Graph', async function () {
    requireSwaks(this);
    const u = await graphUser();
    const r = await swaks([
      '--server', `127.0.0.1:${suite.server.submissionPort}`, '-tls', '--auth', 'PLAIN', '--auth-user', u.name, '--auth-password', u.password,
      '--pipeline', '--from', u.address, '--to', 'dan@remote.test', '--header', 'Subject: swaks through graph',
    ]);
    assert.equal(r.code, 0, r.output);
    await eventually(() => sentBy(u.address).length === 1, 20000, 'sendMail');
    assert.match(sentBy(u.address)[0].mime.toString(), /Subject: swaks through graph/);
    assert.deepEqual(sentBy(u.address)[0].recipients, ['dan@remote.test']);
  });

  it('a 429 with Retry-After, then success: delivered once', async () => {
    const u = await graphUser();
    const before = sendMailRequests().length;
    suite.emu.faults.throttle(1, { method: 'POST', path: '/sendMail', times: 1 });
    const raw = await compose({ from: u.address, to: 'ed@remote.test', subject: 'throttled once', text: 'Later.' });
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['ed@remote.test'] }, raw);
    await eventually(() => sentBy(u.address).length === 1, 30000, 'sendMail after the 429');
    await settledOutbox((await outboxRows(suite.server)).length);
    assert.deepEqual(sendMailRequests().slice(before).map((r) => r.status), [429, 202]);
    assert.equal(sentBy(u.address).length, 1);
    await eventually(async () => (await mailboxRaw(suite.server, u.userId, 'Sent')).length === 1, 20000, 'Sent');
    await suite.server.memgate.sync.pollNow(u.accountId);
    assert.equal((await mailboxRaw(suite.server, u.userId, 'Sent')).length, 1, 'one copy in Sent');
  });

  it('a retry after an attempt whose outcome is unknown looks in Sent Items first: a copy there is not sent again', async () => {
    const u = await graphUser();
    const raw = await compose({ from: u.address, to: 'ida@remote.test', subject: 'outcome unknown', text: 'Once.', messageId: `<unknown-${n}@test>` });
    // As if an earlier sendMail had gone through before its connection broke: Graph's copy
    // is in Sent Items. The first attempt's connection breaks (Graph never answers).
    suite.emu.state.deliver(u.mailbox, raw, { folder: 'sentitems', isRead: true });
    suite.emu.faults.drop({ method: 'POST', path: '/sendMail', times: 1 });
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['ida@remote.test'] }, raw);
    await settledOutbox((await outboxRows(suite.server)).length);
    const [row] = (await outboxRows(suite.server)).slice(-1);
    assert.deepEqual([row.state, row.attempts], ['sent', 2]);
    assert.match(row.remote_reply ?? '', /already sent/);
    assert.deepEqual(sendMailRequests().filter((r) => r.status !== 'dropped').length, sendMailRequests().length - 1, 'only the dropped sendMail reached Graph');
    assert.equal(sentBy(u.address).length, 0, 'not sent again');
  });

  it('a permanent refusal (400): a DSN in INBOX, nothing sent, the message failed', async () => {
    const u = await graphUser();
    suite.emu.faults.error(400, 'ErrorInvalidRecipients', 'At least one recipient is not valid.', { method: 'POST', path: '/sendMail', times: 1 });
    const raw = await compose({ from: u.address, to: 'fay@remote.test', subject: 'refused by Graph', text: 'No.' });
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['fay@remote.test'] }, raw);
    await settledOutbox((await outboxRows(suite.server)).length);
    const [row] = (await outboxRows(suite.server)).slice(-1);
    assert.equal(row.state, 'failed');
    assert.match(row.last_error ?? '', /ErrorInvalidRecipients/);
    assert.equal(sentBy(u.address).length, 0);
    const dsn = await firstInInbox(suite.server, u.userId);
    assert.match(dsn, /Content-Type: multipart\/report; report-type=delivery-status/);
    assert.match(dsn, /Final-Recipient: rfc822; fay@remote\.test/);
    assert.match(dsn, /Status: 5\.1\.3/);
    assert.match(dsn, /At least one recipient is not valid/);
  });

  it("keeps a message queued while Graph refuses the account's credentials, marks the account, sends once they work", async () => {
    // No sync after the first one: the account state is what sending left.
    const u = await graphUser({ pollIntervalSeconds: 3600 });
    suite.emu.faults.error(403, 'ErrorAccessDenied', 'Access is denied. Check credentials and try again.', { method: 'POST', path: '/sendMail', times: 2 });
    const raw = await compose({ from: u.address, to: 'gil@remote.test', subject: 'denied twice', text: 'Then allowed.' });
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['gil@remote.test'] }, raw);
    await eventually(() => sentBy(u.address).length === 1, 30000, 'sendMail once allowed');
    await settledOutbox((await outboxRows(suite.server)).length);
    const [row] = (await outboxRows(suite.server)).slice(-1);
    assert.deepEqual([row.state, row.attempts], ['sent', 3]);
    const [state]: Array<{ state: string; reason: string }> = await suite.server.memgate.database.dataSource.query('SELECT state, reason FROM account_sync WHERE account_id = $1', [u.accountId]);
    assert.equal(state.state, 'auth');
    assert.match(state.reason, /^needs new credentials \(sending\): .*ErrorAccessDenied: Access is denied/);
    assert.equal((await mailboxRaw(suite.server, u.userId, 'INBOX')).length, 0, 'no DSN');
  });

  async function submitWithNotify(u: { name: string; password: string; address: string }, to: string, notify: string, subject: string): Promise<void> {
    const { client } = await SmtpRaw.connect(suite.server.submissionPort);
    await client.login(u.name, u.password);
    assert.match(await client.send(`MAIL FROM:<${u.address}> RET=HDRS ENVID=env-${n}`), /^250 /);
    assert.match(await client.send(`RCPT TO:<${to}> NOTIFY=${notify}`), /^250 /);
    assert.match(await client.send('DATA'), /^354 /);
    assert.match(await client.send(`From: <${u.address}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}-${n}@test>\r\n\r\nHi.\r\n.`), /^250 /);
    client.close();
  }

  it('NOTIFY=SUCCESS: Graph reports nothing itself, so memgate files a "relayed" DSN', async () => {
    const u = await graphUser();
    await submitWithNotify(u, 'jo@remote.test', 'SUCCESS,FAILURE', 'report success');
    await eventually(() => sentBy(u.address).length === 1, 20000, 'sendMail');
    const text = await firstInInbox(suite.server, u.userId);
    assert.match(text, /^Subject: Successful Mail Delivery Report\r$/m);
    assert.match(text, /Original-Envelope-Id: env-\d+/);
    assert.match(text, /Final-Recipient: rfc822; jo@remote\.test\r\nAction: relayed\r\nStatus: 2\.0\.0\r\n/);
    assert.equal((await mailboxRaw(suite.server, u.userId, 'INBOX')).length, 1);
  });

  it('NOTIFY=DELAY: one "delayed" DSN while Graph keeps answering 503, then sent once with no further report', async () => {
    const u = await graphUser({ maxAttempts: 1 });
    suite.emu.faults.unavailable(0, { method: 'POST', path: '/sendMail', times: Infinity });
    await submitWithNotify(u, 'kay@remote.test', 'DELAY,FAILURE', 'report delay');
    const text = await firstInInbox(suite.server, u.userId);
    assert.match(text, /^Subject: Delayed Mail \(still being retried\)\r$/m);
    assert.match(text, /Action: delayed\r\nStatus: 4\.\d+\.\d+\r\nDiagnostic-Code: smtp; [^\r]*503[^\r]*\r\nWill-Retry-Until: /);
    // More attempts fail meanwhile; none adds a report.
    const attempts = async (): Promise<number> => (await outboxRows(suite.server)).at(-1)!.attempts;
    const seen = await attempts();
    await eventually(async () => (await attempts()) >= seen + 2, 20000, 'two more attempts');
    suite.emu.faults.clear();
    await eventually(() => sentBy(u.address).length === 1, 30000, 'sendMail once Graph recovers');
    await settledOutbox((await outboxRows(suite.server)).length);
    assert.equal((await mailboxRaw(suite.server, u.userId, 'INBOX')).length, 1, 'one report in all');
    assert.equal(sentBy(u.address).length, 1);
  });

  it('BURL of a draft: sent through Graph, the draft marked $SubmitPending, then $Submitted', async () => {
    const u = await graphUser();
    const imap = await RawClient.connect(suite.server.imapPort);
    try {
      await imap.command('l', `LOGIN ${u.name} ${u.password}`);
      const draft = `From: <${u.address}>\r\nTo: <hal@remote.test>\r\nSubject: burl via graph\r\nMessage-ID: <burl-graph-${n}@test>\r\n\r\nDrafted on the phone.\r\n`;
      const appended = await imap.command('a', `APPEND Drafts (\\Draft) {${draft.length}+}\r\n${draft}`);
      const [, validity, uid] = /\[APPENDUID (\d+) (\d+)\]/.exec(appended) ?? assert.fail(appended);
      const gen = await imap.command('g', `GENURLAUTH "imap://${u.name}@localhost/Drafts;UIDVALIDITY=${validity}/;UID=${uid};URLAUTH=submit+${u.name}" INTERNAL`);
      const [, url] = /\* GENURLAUTH "([^"]+)"/.exec(gen) ?? assert.fail(gen);
      // Graph holds the send for a moment: the draft is $SubmitPending meanwhile.
      suite.emu.faults.slow(1500, { method: 'POST', path: '/sendMail', times: 1 });
      const { client } = await SmtpRaw.connect(suite.server.submissionPort);
      await client.login(u.name, u.password);
      assert.match(await client.send(`MAIL FROM:<${u.address}>`), /^250 /);
      assert.match(await client.send('RCPT TO:<hal@remote.test>'), /^250 /);
      assert.match(await client.send(`BURL ${url} LAST`), /^250 2\.6\.0 /);
      client.close();
      const drafts = (await suite.server.memgate.store.getMailbox(u.userId, 'Drafts'))!;
      const flags = async (): Promise<string[]> => (await suite.server.memgate.store.listMessages(u.userId, drafts.id)).find((m) => m.uid === Number(uid))?.flags ?? [];
      assert.ok((await flags()).includes('$SubmitPending'), `draft flags: ${await flags()}`);
      await eventually(() => sentBy(u.address).length === 1, 20000, 'sendMail');
      assert.equal(sentBy(u.address)[0].mime.toString('latin1'), draft);
      await eventually(async () => {
        const f = await flags();
        return f.includes('$Submitted') && !f.includes('$SubmitPending');
      }, 20000, '$Submitted');
    } finally {
      imap.close();
    }
  });
});
