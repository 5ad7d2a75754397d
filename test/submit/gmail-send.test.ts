// Submission through a Gmail account, end to end: nodemailer submits to memgate, the outbox
// worker sends with users.messages.send (requestBody.raw) to the Gmail emulator, which
// checks every request against the discovery document, and the sync engine brings the
// SENT copy back as the only copy in Sent. Throttling, refusals, a lost answer, a revoked
// grant.
import assert from 'node:assert/strict';
import { encryptCredentials, loadMasterKey } from '../../src/sync/credentials';
import { startGmailEmulator } from '../emulators/gmail/server';
import type { SentMessage } from '../emulators/gmail/state';
import { gmailAccountCredentials, gmailAccountSettings } from '../support/gmail';
import { eventually } from '../sync/helpers';
import { addBackendUser, compose, firstInInbox, mailboxRaw, outboxRows, sendingSuite, submitRaw } from './backends';

describe('submission through Gmail messages.send (emulator)', function () {
  this.timeout(90000);
  const suite = sendingSuite(startGmailEmulator, {
    check: (emu) => assert.deepEqual(emu.state.violations, [], 'requests or answers the discovery document does not allow'),
  });
  let n = 0;

  const sealed = (credentials: Record<string, string>): Buffer => encryptCredentials(loadMasterKey(suite.server.dataDir).key, credentials);

  async function gmailUser(settings: Record<string, unknown> = {}) {
    const name = `msend${++n}`;
    const address = `${name}@example.com`;
    suite.emu.state.addUser(address);
    const u = await addBackendUser(suite.server, name, {
      kind: 'gmail',
      settings: gmailAccountSettings(suite.emu, { pollIntervalSeconds: 1, ...settings }, address),
      credentials: sealed(gmailAccountCredentials(suite.emu, address)),
    });
    await eventually(async () => (await suite.server.memgate.store.getMailbox(u.userId, 'Sent')) !== null, 20000, 'the first sync');
    return { ...u, name, address, login: { user: name, pass: u.password } };
  }

  const sentBy = (address: string): SentMessage[] => suite.emu.state.sent.filter((s) => s.from === address);
  const rawOf = (address: string, id: string): Buffer => Buffer.from(suite.emu.state.mailbox(address).get(id).raw);
  const sendCalls = (address: string): number[] => suite.emu.state.requests.filter((r) => r.methodId === 'gmail.users.messages.send' && r.user === address).map((r) => r.status);

  async function lastOutboxRow() {
    await eventually(async () => (await outboxRows(suite.server)).every((r) => r.state !== 'queued'), 30000, 'the outbox to settle');
    return (await outboxRows(suite.server)).at(-1)!;
  }

  it('sends what nodemailer composes, byte for byte; the only copy in Sent is the one Gmail filed', async () => {
    const u = await gmailUser();
    const bob = `bob${n}@example.com`;
    suite.emu.state.addUser(bob);
    const raw = await compose({ from: `Alice <${u.address}>`, to: bob, bcc: 'carol@remote.test', subject: 'gmail byte-exact', text: 'Hello from Gmail. Ünïcödé.' });
    assert.match(await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: [bob, 'carol@remote.test'] }, raw), /^250 2\.6\.0 /);
    await eventually(() => sentBy(u.address).length === 1, 20000, 'messages.send');
    const [sent] = sentBy(u.address);
    assert.deepEqual([...sent.recipients].sort(), [bob, 'carol@remote.test']);
    // The envelope-only recipient went in as Bcc; everything else is the submitted bytes.
    const stored = rawOf(u.address, sent.messageId).toString('latin1');
    assert.match(stored, /^Bcc: <carol@remote\.test>\r\n/m);
    assert.ok(Buffer.from(stored.replace(/^Bcc: [^\r\n]*\r\n/m, ''), 'latin1').equals(raw), 'Gmail got the submitted bytes');
    const delivered = suite.emu.state.mailbox(bob).all();
    assert.equal(delivered.length, 1);
    assert.doesNotMatch(Buffer.from(delivered[0].raw).toString(), /^Bcc:/im, 'Gmail delivers without Bcc');
    const row = await lastOutboxRow();
    assert.deepEqual([row.state, row.copy_filed], ['sent', false]);
    assert.match(row.remote_reply ?? '', new RegExp(`sent by Gmail as ${sent.messageId}`));
    await eventually(async () => (await mailboxRaw(suite.server, u.userId, 'Sent')).length === 1, 20000, 'the SENT copy in Sent');
    await suite.server.memgate.sync.pollNow(u.accountId);
    const copies = await mailboxRaw(suite.server, u.userId, 'Sent');
    assert.equal(copies.length, 1, 'one copy in Sent');
    assert.equal(copies[0].toString('latin1'), stored);
  });

  it('a 429 (rateLimitExceeded), then success: delivered once', async () => {
    const u = await gmailUser();
    suite.emu.faults.inject({ method: 'messages.send', user: u.address, fault: { kind: 'status', status: 429, reason: 'rateLimitExceeded' } });
    const raw = await compose({ from: u.address, to: 'ed@remote.test', subject: 'throttled once', text: 'Later.' });
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['ed@remote.test'] }, raw);
    await eventually(() => sentBy(u.address).length === 1, 30000, 'messages.send after the 429');
    assert.equal((await lastOutboxRow()).state, 'sent');
    assert.deepEqual(sendCalls(u.address), [429, 200]);
    assert.equal(sentBy(u.address).length, 1);
  });

  it('an answer lost after Gmail sent the message: found under SENT by Message-ID, not sent again', async () => {
    const u = await gmailUser();
    suite.emu.faults.inject({ method: 'messages.send', user: u.address, fault: { kind: 'drop', when: 'after' } });
    const raw = await compose({ from: u.address, to: 'fred@remote.test', subject: 'answer lost', text: 'Once only.', messageId: `<lost-${n}@test>` });
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['fred@remote.test'] }, raw);
    const row = await lastOutboxRow();
    assert.equal(row.state, 'sent');
    assert.match(row.remote_reply ?? '', /already sent/);
    assert.equal(sentBy(u.address).length, 1, 'sent once');
    assert.equal(suite.emu.state.mailbox(u.address).all().filter((m) => m.labelIds.includes('SENT')).length, 1);
  });

  it('a permanent refusal (400): a DSN in INBOX, the message failed', async () => {
    const u = await gmailUser();
    suite.emu.faults.inject({ method: 'messages.send', user: u.address, fault: { kind: 'status', status: 400, reason: 'invalidArgument', message: 'Invalid To header' } });
    const raw = await compose({ from: u.address, to: 'gus@remote.test', subject: 'refused by Gmail', text: 'No.' });
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['gus@remote.test'] }, raw);
    const row = await lastOutboxRow();
    assert.equal(row.state, 'failed');
    assert.match(row.last_error ?? '', /Invalid To header/);
    assert.equal(sentBy(u.address).length, 0);
    const dsn = await firstInInbox(suite.server, u.userId);
    assert.match(dsn, /Final-Recipient: rfc822; gus@remote\.test/);
    assert.match(dsn, /Status: 5\.1\.3/);
    assert.match(dsn, /Invalid To header/);
  });

  it('a revoked grant: the message stays queued, the account needs new credentials; a new grant sends it once', async () => {
    const u = await gmailUser();
    suite.emu.faults.revokeGrant(u.address);
    const raw = await compose({ from: u.address, to: 'hal@remote.test', subject: 'after a new grant', text: 'Waited.' });
    await submitRaw(suite.server.submissionPort, u.login, { from: u.address, to: ['hal@remote.test'] }, raw);
    const state = async (): Promise<{ state: string; reason: string }> =>
      (await suite.server.memgate.database.dataSource.query('SELECT state, reason FROM account_sync WHERE account_id = $1', [u.accountId]))[0];
    await eventually(async () => (await state()).state === 'auth', 20000, 'the account marked');
    assert.match((await state()).reason, /needs new credentials/);
    const [row] = (await outboxRows(suite.server)).slice(-1);
    assert.equal(row.state, 'queued');
    assert.equal(sentBy(u.address).length, 0);
    assert.equal((await mailboxRaw(suite.server, u.userId, 'INBOX')).length, 0, 'no DSN');
    // The user signs in again: a new grant, stored as `account add` would.
    await suite.server.memgate.database.dataSource.query('UPDATE accounts SET credentials = $2 WHERE id = $1', [u.accountId, sealed(gmailAccountCredentials(suite.emu, u.address))]);
    await eventually(() => sentBy(u.address).length === 1, 30000, 'messages.send with the new grant');
    assert.equal((await lastOutboxRow()).state, 'sent');
    assert.equal(sentBy(u.address).length, 1);
  });
});
