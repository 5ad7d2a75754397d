// Graph emulator, request faults and throttling accounting, seen through
// @microsoft/microsoft-graph-client: 429 with Retry-After (surfaced, and retried by the
// library's own RetryHandler), 503, 410 on a delta token only, an expired token, a slow
// response holding one of the mailbox's 4 concurrency slots, a dropped connection, and the
// per-mailbox request window.
import assert from 'node:assert/strict';
import { Client, RetryHandlerOptions } from '@microsoft/microsoft-graph-client';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { graphClient, graphError, mime } from './helpers';
import { GraphEmulator, startGraphEmulator } from './server';
import { Mailbox } from './state';

const NO_RETRY = [new RetryHandlerOptions(0, 0)];

describe('graph emulator: faults and throttling', function () {
  let emu: GraphEmulator;
  let alice: Mailbox;
  let bob: Mailbox;
  let me: Client;
  let app: Client;
  beforeEach(async () => {
    emu = await startGraphEmulator({ mailboxes: ['alice@contoso.com', 'bob@contoso.com'] });
    alice = emu.state.mailbox('alice@contoso.com') as Mailbox;
    bob = emu.state.mailbox('bob@contoso.com') as Mailbox;
    me = graphClient(emu, emu.auth.issueToken(alice));
    app = graphClient(emu, emu.auth.issueToken());
  });
  afterEach(async () => emu?.stop());

  const inbox = (c: Client = me, path = '/me/mailFolders/inbox'): Promise<MicrosoftGraph.MailFolder> => c.api(path).middlewareOptions(NO_RETRY).get() as Promise<MicrosoftGraph.MailFolder>;

  it('429 with Retry-After, only for matching requests and only as often as armed', async () => {
    emu.faults.throttle(2, { path: '/mailFolders/inbox', times: 2 });
    await me.api('/me/mailFolders/drafts').middlewareOptions(NO_RETRY).get();
    for (let i = 0; i < 2; i++) {
      const err = await graphError(inbox());
      assert.equal(err.statusCode, 429);
      assert.equal(err.code, 'ApplicationThrottled');
      assert.equal(err.headers?.get('Retry-After'), '2');
    }
    await inbox();
    assert.equal(emu.faults.pending(), 0);
  });

  it("the library's RetryHandler honours Retry-After and gets through", async () => {
    emu.faults.throttle(1, { path: '/mailFolders/inbox' });
    const f = (await me.api('/me/mailFolders/inbox').get()) as MicrosoftGraph.MailFolder;
    assert.equal(f.id, alice.wellKnown('inbox').id);
    assert.deepEqual(emu.requests.map((r) => r.status), [429, 200]);
  });

  it('503 ServiceUnavailable, with and without Retry-After', async () => {
    emu.faults.unavailable(5);
    emu.faults.unavailable();
    const a = await graphError(inbox());
    assert.equal(a.statusCode, 503);
    assert.equal(a.headers?.get('Retry-After'), '5');
    const b = await graphError(inbox());
    assert.equal(b.statusCode, 503);
    assert.equal(b.headers?.get('Retry-After'), null);
    await inbox();
  });

  it('syncStateNotFound hits a delta request with a token, not the first one of a round', async () => {
    emu.state.deliver(alice, mime('x'));
    emu.faults.syncStateNotFound();
    const first = (await me.api('/me/mailFolders/inbox/messages/delta').get()) as { '@odata.deltaLink': string };
    assert.equal(emu.faults.pending(), 1);
    const err = await graphError(me.api(first['@odata.deltaLink']).get());
    assert.equal(err.statusCode, 410);
    assert.equal(err.code, 'syncStateNotFound');
    await me.api(first['@odata.deltaLink']).get();
  });

  it('an expired token fault answers 401 InvalidAuthenticationToken once', async () => {
    emu.faults.expiredToken();
    const err = await graphError(inbox());
    assert.equal(err.statusCode, 401);
    assert.equal(err.code, 'InvalidAuthenticationToken');
    await inbox();
  });

  it('a dropped connection fails the request without an answer; the next one works', async () => {
    emu.faults.drop({ method: 'GET' });
    const err = await graphError(inbox());
    assert.equal(err.statusCode, -1);
    assert.equal(emu.requests[0].status, 'dropped');
    await inbox();
  });

  it('slow responses hold concurrency slots: the 5th concurrent request to a mailbox gets 429', async () => {
    emu.faults.setThrottling({ requests: 10_000, windowMs: 600_000, concurrent: 4 });
    emu.faults.slow(800, { path: '/users/alice@contoso.com/', times: 4 });
    const slow = Array.from({ length: 4 }, () => inbox(app, '/users/alice@contoso.com/mailFolders/inbox'));
    while (emu.faults.inFlightCount(alice.id) < 4) await new Promise((r) => setTimeout(r, 5));
    const fifth = await graphError(inbox(app, '/users/alice@contoso.com/mailFolders/drafts'));
    assert.equal(fifth.statusCode, 429);
    await inbox(app, '/users/bob@contoso.com/mailFolders/inbox'); // another mailbox is not affected
    const done = await Promise.all(slow);
    assert.ok(done.every((f) => f.id === alice.wellKnown('inbox').id));
    await inbox(app, '/users/alice@contoso.com/mailFolders/drafts');
    assert.equal(emu.faults.throttledCount, 1);
  });

  it('enforces the per-mailbox request window with a Retry-After until the oldest request ages out', async () => {
    emu.faults.setThrottling({ requests: 3, windowMs: 60_000, concurrent: 4 });
    for (let i = 0; i < 3; i++) await inbox();
    const err = await graphError(inbox());
    assert.equal(err.statusCode, 429);
    const retryAfter = Number(err.headers?.get('Retry-After'));
    assert.ok(retryAfter > 50 && retryAfter <= 60, String(retryAfter));
    await inbox(app, `/users/${bob.id}/mailFolders/inbox`);
    emu.faults.setThrottling(undefined);
    await inbox();
  });
});
