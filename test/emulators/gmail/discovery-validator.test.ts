// The validator itself: it must accept what the discovery document allows and catch what
// it does not, in requests and in responses (a wrong response shape must fail).

import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DiscoveryValidator, gmailDiscovery } from './discovery-validator';
import { assertClean, b64url, failure, rfc822, useHarness, valid } from './helpers';

const v = gmailDiscovery();
const method = (id: string) => v.method(id);

describe('gmail emulator: discovery validator', () => {
  it('routes paths to methods, literal segments before parameters', () => {
    assert.equal(v.match('POST', 'gmail/v1/users/me/messages/send')?.method.id, 'gmail.users.messages.send');
    assert.equal(v.match('POST', 'gmail/v1/users/me/messages/batchModify')?.method.id, 'gmail.users.messages.batchModify');
    const get = v.match('GET', 'gmail/v1/users/me/messages/18c0a');
    assert.equal(get?.method.id, 'gmail.users.messages.get');
    assert.deepEqual(get?.pathParams, { userId: 'me', id: '18c0a' });
    assert.equal(v.match('GET', 'gmail/v1/users/me/messages/1/attachments/2')?.method.id, 'gmail.users.messages.attachments.get');
    assert.equal(v.match('PATCH', 'gmail/v1/users/me/messages/1'), null);
    assert.equal(v.match('GET', 'gmail/v1/users/me/nothing'), null);
  });

  it('accepts valid requests', () => {
    const q = new URLSearchParams([['labelIds', 'INBOX'], ['labelIds', 'UNREAD'], ['maxResults', '10'], ['q', 'from:bob'], ['prettyPrint', 'false']]);
    assert.deepEqual(v.validateRequest(method('gmail.users.messages.list'), q, undefined), []);
    assert.deepEqual(v.validateRequest(method('gmail.users.messages.insert'), new URLSearchParams('internalDateSource=dateHeader'), { raw: 'QUJD', labelIds: ['INBOX'] }), []);
    assert.deepEqual(v.validateRequest(method('gmail.users.messages.modify'), new URLSearchParams(), { addLabelIds: ['STARRED'] }), []);
  });

  it('catches bad query parameters', () => {
    const list = method('gmail.users.messages.list');
    assert.match(v.validateRequest(list, new URLSearchParams('labelId=INBOX'), undefined).join(), /unknown query parameter "labelId"/);
    assert.match(v.validateRequest(list, new URLSearchParams('maxResults=ten'), undefined).join(), /not an integer/);
    assert.match(v.validateRequest(list, new URLSearchParams('includeSpamTrash=yes'), undefined).join(), /not a boolean/);
    assert.match(v.validateRequest(list, new URLSearchParams('q=a&q=b'), undefined).join(), /not repeated/);
    const get = method('gmail.users.messages.get');
    assert.match(v.validateRequest(get, new URLSearchParams('format=RAW'), undefined).join(), /not one of minimal, full, raw, metadata/);
    const history = method('gmail.users.history.list');
    assert.match(v.validateRequest(history, new URLSearchParams('historyTypes=messageMoved'), undefined).join(), /not one of/);
  });

  it('catches bad request bodies', () => {
    const insert = method('gmail.users.messages.insert');
    assert.match(v.validateRequest(insert, new URLSearchParams(), { labelIds: ['INBOX'] }).join(), /missing required field "raw"/);
    assert.match(v.validateRequest(insert, new URLSearchParams(), { raw: 'QUJD', folder: 'INBOX' }).join(), /unknown field "folder"/);
    assert.match(v.validateRequest(insert, new URLSearchParams(), { raw: 'not base64!' }).join(), /not base64/);
    assert.match(v.validateRequest(insert, new URLSearchParams(), { raw: 'QUJD', labelIds: 'INBOX' }).join(), /expected an array/);
    assert.match(v.validateRequest(insert, new URLSearchParams(), undefined).join(), /missing request body/);
    assert.match(v.validateRequest(method('gmail.users.messages.trash'), new URLSearchParams(), { id: 'x' }).join(), /takes no request body/);
    assert.match(v.validateRequest(method('gmail.users.watch'), new URLSearchParams(), { topicName: 't', labelFilterBehavior: 'only' }).join(), /not one of include, exclude/);
  });

  it('catches wrong response shapes', () => {
    const ok = { id: 'a', threadId: 'a', labelIds: ['INBOX'], historyId: '1234', internalDate: '1701684000000', sizeEstimate: 10 };
    assert.deepEqual(v.validateResponse('gmail.users.messages.get', ok), []);
    assert.match(v.validateResponse('gmail.users.messages.get', { ...ok, historyId: 1234 }).join(), /historyId: expected a string/);
    assert.match(v.validateResponse('gmail.users.messages.get', { ...ok, historyId: '-5' }).join(), /not a uint64/);
    assert.match(v.validateResponse('gmail.users.messages.get', { ...ok, labels: ['INBOX'] }).join(), /unknown field "labels"/);
    assert.match(v.validateResponse('gmail.users.messages.get', { ...ok, sizeEstimate: '10' }).join(), /expected an integer/);
    assert.match(v.validateResponse('gmail.users.messages.get', { ...ok, payload: { headers: [{ name: 'To', value: 1 }] } }).join(), /payload\.headers\[0\]\.value: expected a string/);
    assert.match(v.validateResponse('gmail.users.labels.get', { id: 'Label_1', name: 'x', type: 'custom' }).join(), /type: "custom" is not one of system, user/);
    assert.match(v.validateResponse('gmail.users.history.list', { history: [{ id: '5', messagesMoved: [] }], historyId: '5' }).join(), /unknown field "messagesMoved"/);
    assert.match(v.validateResponse('gmail.users.messages.list', []).join(), /expected an object/);
    assert.match(v.validateResponse('gmail.users.messages.delete', { ok: true }).join(), /has no response body/);
    assert.deepEqual(v.validateResponse('gmail.users.messages.delete', undefined), []);
  });

  it('the vendored discovery document is the shared one', function () {
    const shared = path.resolve(__dirname, '../../../../../shared/api-specs/gmail/gmail-v1-discovery.json');
    const vendored = path.resolve(__dirname, '../../../../test/emulators/gmail/spec/gmail-v1-discovery.json');
    if (!fs.existsSync(shared)) this.skip();
    assert.ok(fs.readFileSync(vendored).equals(fs.readFileSync(shared)));
    assert.equal(new DiscoveryValidator().doc.servicePath, '');
  });

  describe('in the server', () => {
    const h = useHarness();

    it('answers 400 to a request the document does not allow', async () => {
      const token = h.emu.state.tokensFor('alice@example.com').access_token;
      const res = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/messages?labelId=INBOX`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { error: { errors: { reason: string }[]; message: string } };
      assert.match(body.error.message, /unknown query parameter "labelId"/);
      const bad = await failure(h.gmail.users.messages.insert({ userId: 'me', requestBody: { raw: b64url(rfc822()), folder: 'x' } as never }));
      assert.equal(bad.status, 400);
      assertClean(h.emu);
    });

    it('records a response that breaks the document', async () => {
      h.emu.faults.inject({ method: 'users.getProfile', fault: { kind: 'reshape', mutate: (b) => ({ ...(b as object), messagesTotal: 'many' }) } });
      const res = await h.gmail.users.getProfile({ userId: 'me' });
      // Caught on both sides: by the server's own check and by the tests' client-side one.
      assert.throws(() => valid('gmail.users.getProfile', res.data), /messagesTotal: expected an integer/);
      assert.equal(h.emu.state.violations.length, 1);
      assert.match(h.emu.state.violations[0]!, /gmail\.users\.getProfile: response\.messagesTotal: expected an integer/);
      h.emu.state.violations.length = 0;
    });
  });
});
