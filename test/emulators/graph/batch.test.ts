// Graph emulator, JSON $batch through @microsoft/microsoft-graph-client: mixed members with
// JSON, MIME and no-content answers, dependsOn with 424, the 20-request limit, a throttled
// member inside a 200 batch.
import assert from 'node:assert/strict';
import type { Client, GraphError } from '@microsoft/microsoft-graph-client';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import type { BatchResponseMember } from './batch';
import { graphClient, mime } from './helpers';
import { GraphEmulator, startGraphEmulator } from './server';
import { Mailbox } from './state';

type BatchAnswer = { responses: BatchResponseMember[] };

describe('graph emulator: JSON batching', function () {
  let emu: GraphEmulator;
  let alice: Mailbox;
  let me: Client;
  before(async () => {
    emu = await startGraphEmulator({ mailboxes: ['alice@contoso.com'] });
    alice = emu.state.mailbox('alice@contoso.com') as Mailbox;
    me = graphClient(emu, emu.auth.issueToken(alice));
  });
  after(async () => emu?.stop());

  it('runs members and answers each with its own status, headers and body', async () => {
    const a = emu.state.deliver(alice, mime('batched a'));
    const b = emu.state.deliver(alice, mime('batched b'));
    const answer = (await me.api('/$batch').post({
      requests: [
        { id: '1', method: 'GET', url: '/me/mailFolders/inbox' },
        { id: '2', method: 'PATCH', url: `/me/messages/${a.restId}`, headers: { 'Content-Type': 'application/json' }, body: { isRead: true } },
        { id: '3', method: 'GET', url: `/me/messages/${a.restId}/$value` },
        { id: '4', method: 'DELETE', url: `/me/messages/${b.restId}` },
        { id: '5', method: 'GET', url: '/me/messages/AAMkADgone' },
        { id: '6', method: 'POST', url: '/me/mailFolders/archive/messages', headers: { 'Content-Type': 'text/plain' }, body: Buffer.from(mime('imported in batch')).toString('base64') },
      ],
    })) as BatchAnswer;
    const byId = new Map(answer.responses.map((r) => [r.id, r]));
    assert.equal(byId.get('1')?.status, 200);
    assert.equal((byId.get('1')?.body as MicrosoftGraph.MailFolder).id, alice.wellKnown('inbox').id);
    assert.equal(byId.get('2')?.status, 200);
    assert.equal(a.isRead, true);
    assert.equal(byId.get('3')?.status, 200);
    assert.match(Buffer.from(byId.get('3')?.body as string, 'base64').toString(), /Subject: batched a/);
    assert.equal(byId.get('4')?.status, 204);
    assert.equal(alice.message(b.immutableId), undefined);
    assert.equal(byId.get('5')?.status, 404);
    assert.equal(byId.get('6')?.status, 201);
    assert.equal((byId.get('6')?.body as MicrosoftGraph.Message).subject, 'imported in batch');
  });

  it('orders by dependsOn and fails dependents of a failed member with 424', async () => {
    const m = emu.state.deliver(alice, mime('dependent'));
    const answer = (await me.api('/$batch').post({
      requests: [
        { id: 'a', method: 'POST', url: `/me/messages/${m.restId}/move`, headers: { 'Content-Type': 'application/json' }, body: { destinationId: 'nowhere' } },
        { id: 'b', method: 'PATCH', url: `/me/messages/${m.restId}`, dependsOn: ['a'], headers: { 'Content-Type': 'application/json' }, body: { isRead: true } },
        { id: 'c', method: 'GET', url: '/me/mailFolders/inbox' },
      ],
    })) as BatchAnswer;
    const status = Object.fromEntries(answer.responses.map((r) => [r.id, r.status]));
    assert.deepEqual(status, { a: 404, b: 424, c: 200 });
    assert.equal(m.isRead, false);
  });

  it('refuses more than 20 members, duplicate ids and bodies without Content-Type', async () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/me/mailFolders/inbox' }));
    const tooMany = (await me.api('/$batch').post({ requests: many }).catch((e: GraphError) => e)) as GraphError;
    assert.equal(tooMany.statusCode, 400);
    const twenty = (await me.api('/$batch').post({ requests: many.slice(0, 20) })) as BatchAnswer;
    assert.equal(twenty.responses.filter((r) => r.status === 200).length, 20);
    const dup = (await me.api('/$batch').post({ requests: [many[0], { ...many[1], id: '0' }] }).catch((e: GraphError) => e)) as GraphError;
    assert.equal(dup.statusCode, 400);
    const cycle = (await me.api('/$batch').post({ requests: [{ ...many[0], dependsOn: ['1'] }, { ...many[1], dependsOn: ['0'] }] }).catch((e: GraphError) => e)) as GraphError;
    assert.equal(cycle.statusCode, 400);
    const noType = (await me.api('/$batch').post({ requests: [{ id: '1', method: 'PATCH', url: '/me/mailFolders/inbox', body: {} }] }).catch((e: GraphError) => e)) as GraphError;
    assert.equal(noType.statusCode, 400);
  });

  it('a throttled member answers 429 with Retry-After inside a 200 batch', async () => {
    emu.faults.throttle(7, { path: '/mailFolders/drafts' });
    const answer = (await me.api('/$batch').post({
      requests: [
        { id: '1', method: 'GET', url: '/me/mailFolders/inbox' },
        { id: '2', method: 'GET', url: '/me/mailFolders/drafts' },
      ],
    })) as BatchAnswer;
    const r2 = answer.responses.find((r) => r.id === '2') as BatchResponseMember;
    assert.equal(r2.status, 429);
    assert.equal(r2.headers['Retry-After'], '7');
    assert.equal(answer.responses.find((r) => r.id === '1')?.status, 200);
  });
});
