// Graph emulator, messages, driven by @microsoft/microsoft-graph-client: list with
// $select/$top/$filter/$orderby and paging, get, $value re-rendered on every fetch, create
// from MIME and JSON, PATCH of flags/categories/extended properties, move (REST ids change,
// immutable ids do not), copy, DELETE, sendMail with JSON and MIME.
import assert from 'node:assert/strict';
import type { Client } from '@microsoft/microsoft-graph-client';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { graphClient, graphError, mime, rawGraph } from './helpers';
import { GraphEmulator, startGraphEmulator } from './server';
import { Mailbox } from './state';

type Page<T> = { value: T[]; '@odata.nextLink'?: string };
const IMMUTABLE = { Prefer: 'IdType="ImmutableId"' };

const b64 = (s: string): string => Buffer.from(s.replace(/\r?\n/g, '\r\n')).toString('base64');

describe('graph emulator: messages', function () {
  let emu: GraphEmulator;
  let alice: Mailbox;
  let bob: Mailbox;
  let token: string;
  let me: Client;
  before(async () => {
    emu = await startGraphEmulator({ mailboxes: ['alice@contoso.com', 'bob@contoso.com'] });
    alice = emu.state.mailbox('alice@contoso.com') as Mailbox;
    bob = emu.state.mailbox('bob@contoso.com') as Mailbox;
    token = emu.auth.issueToken(alice);
    me = graphClient(emu, token);
  });
  after(async () => emu?.stop());

  it('lists a folder newest first with $select, $top, $filter and @odata.nextLink', async () => {
    const folder = emu.state.createFolder(alice, alice.rootFolderId, 'List');
    for (let i = 0; i < 7; i++) emu.state.deliver(alice, mime(`m${i}`), { folder: folder.id, isRead: i % 2 === 0, receivedDateTime: new Date(Date.UTC(2024, 0, 1 + i)) });
    const first = (await me.api(`/me/mailFolders/${folder.id}/messages`).select('subject,isRead').top(3).get()) as Page<MicrosoftGraph.Message>;
    assert.deepEqual(first.value.map((m) => m.subject), ['m6', 'm5', 'm4']);
    assert.deepEqual(Object.keys(first.value[0]).sort(), ['@odata.etag', 'id', 'isRead', 'subject']);
    const second = (await me.api(first['@odata.nextLink'] as string).get()) as Page<MicrosoftGraph.Message>;
    assert.deepEqual(second.value.map((m) => m.subject), ['m3', 'm2', 'm1']);
    const third = (await me.api(second['@odata.nextLink'] as string).get()) as Page<MicrosoftGraph.Message>;
    assert.deepEqual(third.value.map((m) => m.subject), ['m0']);
    assert.equal(third['@odata.nextLink'], undefined);

    const unread = (await me.api(`/me/mailFolders/${folder.id}/messages`).filter('receivedDateTime ge 2024-01-03T00:00:00Z and isRead eq false').get()) as Page<MicrosoftGraph.Message>;
    assert.deepEqual(unread.value.map((m) => m.subject), ['m5', 'm3']);
    const asc = (await me.api(`/me/mailFolders/${folder.id}/messages`).filter('receivedDateTime ge 2024-01-06T00:00:00Z').orderby('receivedDateTime asc').get()) as Page<MicrosoftGraph.Message>;
    assert.deepEqual(asc.value.map((m) => m.subject), ['m5', 'm6']);
    const byId = (await me.api('/me/messages').filter("internetMessageId eq '<find-me@example.org>'").get()) as Page<MicrosoftGraph.Message>;
    assert.equal(byId.value.length, 0);
    emu.state.deliver(alice, mime('findable', { messageId: '<find-me@example.org>' }));
    const found = (await me.api('/me/messages').filter("internetMessageId eq '<find-me@example.org>'").get()) as Page<MicrosoftGraph.Message>;
    assert.deepEqual(found.value.map((m) => m.subject), ['findable']);

    const badSelect = await graphError(me.api(`/me/mailFolders/${folder.id}/messages`).select('subjekt').get());
    assert.equal(badSelect.statusCode, 400);
    const badFilter = await graphError(me.api(`/me/mailFolders/${folder.id}/messages`).filter('contains(subject,"x")').get());
    assert.equal(badFilter.code, 'ErrorInvalidUrlQueryFilter');
    const inefficient = await graphError(me.api(`/me/mailFolders/${folder.id}/messages`).filter('isRead eq false').orderby('receivedDateTime desc').get());
    assert.equal(inefficient.code, 'InefficientFilter');
  });

  it('gets a message with the properties read from its MIME', async () => {
    const msg = emu.state.deliver(alice, mime('Quarterly report', { from: '"Dana Swope" <danas@contoso.com>', to: 'alice@contoso.com, Bob <bob@contoso.com>', multipart: true, body: 'Numbers inside' }));
    const got = (await me.api(`/me/messages/${msg.restId}`).get()) as MicrosoftGraph.Message;
    assert.equal(got.subject, 'Quarterly report');
    assert.deepEqual(got.from, { emailAddress: { name: 'Dana Swope', address: 'danas@contoso.com' } });
    assert.deepEqual(got.toRecipients?.map((r) => r.emailAddress?.address), ['alice@contoso.com', 'bob@contoso.com']);
    assert.equal(got.body?.contentType, 'html');
    assert.equal(got.bodyPreview, 'Numbers inside');
    assert.equal(got.parentFolderId, alice.wellKnown('inbox').id);
    assert.equal(got.sentDateTime, '2023-09-04T10:00:00Z');
    assert.deepEqual(got.flag, { flagStatus: 'notFlagged' });
    assert.equal(got.isRead, false);
    const text = (await me.api(`/me/messages/${msg.restId}`).header('Prefer', 'outlook.body-content-type="text"').get()) as MicrosoftGraph.Message;
    assert.deepEqual(text.body, { contentType: 'text', content: 'Numbers inside' });
    const headers = (await me.api(`/me/messages/${msg.restId}`).select('internetMessageHeaders').get()) as MicrosoftGraph.Message;
    assert.ok(headers.internetMessageHeaders?.some((h) => h.name === 'Subject' && h.value === 'Quarterly report'));
    assert.equal((await graphError(me.api('/me/messages/AAMkADnonexistent').get())).statusCode, 404);
  });

  it('serves $value afresh on every fetch: new boundaries, same parts', async () => {
    const msg = emu.state.deliver(alice, mime('Rendered', { multipart: true }));
    const fetchValue = async (): Promise<string> => (await rawGraph(emu, 'GET', `/v1.0/me/messages/${msg.restId}/$value`, token)).text();
    const a = await fetchValue();
    const b = await fetchValue();
    assert.notEqual(a, b);
    const boundary = (s: string): string => (/boundary="([^"]+)"/.exec(s) as RegExpExecArray)[1];
    assert.notEqual(boundary(a), 'b1');
    const normalize = (s: string): string => s.split(boundary(s)).join('B');
    assert.equal(normalize(a), normalize(b));
    assert.equal(normalize(a), normalize(msg.mime.toString('latin1')));
    const plain = emu.state.deliver(alice, mime('Single part'));
    const p1 = await (await rawGraph(emu, 'GET', `/v1.0/me/messages/${plain.restId}/$value`, token)).text();
    assert.equal(p1, plain.mime.toString('latin1'));
  });

  it('creates from base64 MIME (a draft) and from JSON (non-draft with PR_MESSAGE_FLAGS)', async () => {
    const raw = mime('Imported', { messageId: '<imported@example.org>' });
    const created = (await me.api('/me/mailFolders/archive/messages').header('Content-Type', 'text/plain').post(b64(raw))) as MicrosoftGraph.Message;
    assert.equal(created.subject, 'Imported');
    assert.equal(created.internetMessageId, '<imported@example.org>');
    assert.equal(created.parentFolderId, alice.wellKnown('archive').id);
    assert.equal(created.isDraft, true);
    const draft = (await me.api('/me/messages').header('Content-Type', 'text/plain').post(b64(mime('To drafts')))) as MicrosoftGraph.Message;
    assert.equal(draft.parentFolderId, alice.wellKnown('drafts').id);
    const bad = await graphError(me.api('/me/messages').header('Content-Type', 'text/plain').post('this is not base64!'));
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.code, 'ErrorMimeContentInvalidBase64String');

    const json = (await me.api('/me/mailFolders/inbox/messages').post({
      subject: 'From JSON',
      body: { contentType: 'text', content: 'hello' },
      toRecipients: [{ emailAddress: { address: 'bob@contoso.com' } }],
      categories: ['Blue'],
      singleValueExtendedProperties: [{ id: 'Integer 0x0E07', value: '1' }],
    })) as MicrosoftGraph.Message;
    assert.equal(json.isDraft, false);
    assert.equal(json.isRead, true);
    assert.deepEqual(json.categories, ['Blue']);
    assert.equal(json.body?.content?.trim(), 'hello');
  });

  it('PATCHes isRead, flag, categories and single-value extended properties', async () => {
    const msg = emu.state.deliver(alice, mime('Flag me'));
    const patched = (await me.api(`/me/messages/${msg.restId}`).patch({
      isRead: true,
      flag: { flagStatus: 'flagged' },
      categories: ['Red category', 'memgate'],
      singleValueExtendedProperties: [{ id: 'Integer 0x1081', value: '102' }, { id: 'String {00020386-0000-0000-C000-000000000046} Name X-Memgate-Keywords', value: '$Forwarded' }],
    })) as MicrosoftGraph.Message;
    assert.equal(patched.isRead, true);
    assert.equal(patched.flag?.flagStatus, 'flagged');
    assert.deepEqual(patched.categories, ['Red category', 'memgate']);
    assert.notEqual(patched.changeKey, undefined);
    const withProp = (await me.api(`/me/messages/${msg.restId}`).expand("singleValueExtendedProperties($filter=id eq 'Integer 0x1081')").get()) as MicrosoftGraph.Message;
    assert.deepEqual(withProp.singleValueExtendedProperties, [{ id: 'Integer 0x1081', value: '102' }]);
    const without = (await me.api(`/me/messages/${msg.restId}`).get()) as MicrosoftGraph.Message;
    assert.equal(without.singleValueExtendedProperties, undefined);
    assert.equal(msg.isRead, true);

    const readOnly = await graphError(me.api(`/me/messages/${msg.restId}`).patch({ isDraft: true }));
    assert.equal(readOnly.code, 'ErrorInvalidPropertyUpdate');
    const unknown = await graphError(me.api(`/me/messages/${msg.restId}`).patch({ seen: true }));
    assert.equal(unknown.statusCode, 400);
    const badFlag = await graphError(me.api(`/me/messages/${msg.restId}`).patch({ flag: { flagStatus: 'red' } }));
    assert.equal(badFlag.statusCode, 400);
    const badProp = await graphError(me.api(`/me/messages/${msg.restId}`).patch({ singleValueExtendedProperties: [{ id: 'Integer 0x1081', value: 'reply' }] }));
    assert.equal(badProp.statusCode, 400);
  });

  it('moves: the REST id changes and the old one is gone; the immutable id stays', async () => {
    const msg = emu.state.deliver(alice, mime('Move me'));
    const oldRest = msg.restId;
    const moved = (await me.api(`/me/messages/${oldRest}/move`).post({ destinationId: 'archive' })) as MicrosoftGraph.Message;
    assert.notEqual(moved.id, oldRest);
    assert.equal(moved.parentFolderId, alice.wellKnown('archive').id);
    assert.equal((await graphError(me.api(`/me/messages/${oldRest}`).get())).statusCode, 404);

    const before = (await me.api(`/me/messages/${moved.id}`).headers(IMMUTABLE).get()) as MicrosoftGraph.Message;
    const again = (await me.api(`/me/messages/${before.id}/move`).headers(IMMUTABLE).post({ destinationId: alice.wellKnown('inbox').id })) as MicrosoftGraph.Message;
    assert.equal(again.id, before.id);
    assert.equal(again.id, msg.immutableId);
    const missing = await graphError(me.api(`/me/messages/${again.id}/move`).post({ destinationId: 'nowhere' }));
    assert.equal(missing.statusCode, 404);
  });

  it('copies (a new message with its own ids) and deletes', async () => {
    const msg = emu.state.deliver(alice, mime('Copy me'));
    const copy = (await me.api(`/me/messages/${msg.restId}/copy`).headers(IMMUTABLE).post({ destinationId: 'junkemail' })) as MicrosoftGraph.Message;
    assert.notEqual(copy.id, msg.immutableId);
    assert.equal(copy.subject, 'Copy me');
    assert.equal(alice.message(msg.restId)?.folderId, alice.wellKnown('inbox').id);
    await me.api(`/me/messages/${copy.id}`).delete();
    assert.equal((await graphError(me.api(`/me/messages/${copy.id}`).get())).statusCode, 404);
    assert.equal(alice.message(copy.id as string), undefined);
  });

  it('sends with JSON and with MIME: 202, a copy in Sent Items, delivery to emulated mailboxes without Bcc', async () => {
    const res = await rawGraph(emu, 'POST', '/v1.0/me/sendMail', token, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ message: { subject: 'Lunch?', body: { contentType: 'text', content: 'At noon' }, toRecipients: [{ emailAddress: { address: 'bob@contoso.com' } }], bccRecipients: [{ emailAddress: { address: 'carol@example.org' } }] } }),
    });
    assert.equal(res.status, 202);
    const sent = alice.inFolder(alice.wellKnown('sentitems').id).find((m) => m.summary.subject === 'Lunch?');
    assert.ok(sent);
    assert.equal(sent.isRead, true);
    const delivered = bob.inFolder(bob.wellKnown('inbox').id).find((m) => m.summary.subject === 'Lunch?');
    assert.ok(delivered);
    assert.doesNotMatch(delivered.mime.toString(), /carol/);
    assert.deepEqual(emu.state.sent.at(-1)?.recipients, ['bob@contoso.com', 'carol@example.org']);

    await me.api('/me/sendMail').header('Content-Type', 'text/plain').post(b64(mime('Via MIME', { to: 'bob@contoso.com' })));
    assert.ok(bob.inFolder(bob.wellKnown('inbox').id).some((m) => m.summary.subject === 'Via MIME'));
    await me.api('/me/sendMail').post({ message: { subject: 'Not saved', toRecipients: [{ emailAddress: { address: 'x@example.org' } }] }, saveToSentItems: false });
    assert.ok(!alice.inFolder(alice.wellKnown('sentitems').id).some((m) => m.summary.subject === 'Not saved'));
    const noRcpt = await graphError(me.api('/me/sendMail').post({ message: { subject: 'nobody' } }));
    assert.equal(noRcpt.code, 'ErrorInvalidRecipients');
    const noMessage = await graphError(me.api('/me/sendMail').post({}));
    assert.equal(noMessage.statusCode, 400);
  });
});
