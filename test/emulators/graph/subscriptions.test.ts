// Graph emulator, change-notification subscriptions, driven by @microsoft/microsoft-graph-client
// and a webhook receiver: validationToken handshake, clientState, created/updated/deleted
// notifications (folder-scoped and mailbox-wide, REST or immutable ids), renew, delete,
// lifecycle notifications, retries, and the duplicate / out-of-order / lost faults.
import assert from 'node:assert/strict';
import type { Client } from '@microsoft/microsoft-graph-client';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import { graphClient, graphError, mime, Receiver, startReceiver } from './helpers';
import { GraphEmulator, startGraphEmulator } from './server';
import { Mailbox } from './state';

const inAnHour = (): string => new Date(Date.now() + 3600_000).toISOString();

describe('graph emulator: subscriptions and notifications', function () {
  let emu: GraphEmulator;
  let alice: Mailbox;
  let me: Client;
  let rx: Receiver;
  beforeEach(async () => {
    emu = await startGraphEmulator({ mailboxes: ['alice@contoso.com'], notifications: { retryDelayMs: 20 } });
    alice = emu.state.mailbox('alice@contoso.com') as Mailbox;
    me = graphClient(emu, emu.auth.issueToken(alice));
    rx = await startReceiver();
  });
  afterEach(async () => {
    await emu?.stop();
    await rx?.close();
  });

  async function subscribe(resource: string, extra: Partial<MicrosoftGraph.Subscription> = {}, headers: Record<string, string> = {}): Promise<MicrosoftGraph.Subscription> {
    return (await me.api('/subscriptions').headers(headers).post({ changeType: 'created,updated,deleted', notificationUrl: rx.url, resource, expirationDateTime: inAnHour(), clientState: 'secret-state', ...extra })) as MicrosoftGraph.Subscription;
  }

  it('validates the notification URL, then notifies created, updated and deleted with clientState', async () => {
    const sub = await subscribe("me/mailFolders('inbox')/messages");
    assert.equal(rx.validations.length, 1);
    assert.ok(sub.id);
    assert.equal(sub.clientState, 'secret-state');
    assert.equal(sub.resource, "me/mailFolders('inbox')/messages");
    const msg = emu.state.deliver(alice, mime('hello'));
    emu.state.update(alice, msg, (m) => (m.isRead = true));
    emu.state.deliver(alice, mime('elsewhere'), { folder: 'archive' });
    emu.state.remove(alice, msg);
    const got = await rx.waitFor(3);
    await emu.subscriptions.idle();
    assert.deepEqual(got.map((n) => n.changeType), ['created', 'updated', 'deleted']);
    for (const n of got) {
      assert.equal(n.subscriptionId, sub.id);
      assert.equal(n.clientState, 'secret-state');
      assert.equal(n.tenantId, emu.state.tenantId);
      assert.equal((n.resourceData as { id: string }).id, msg.restId);
      assert.equal(n.resource, `Users/${alice.id}/Messages/${msg.restId}`);
    }
    assert.equal(rx.notifications.length, 3);
  });

  it('sends immutable ids when subscribed with Prefer: IdType="ImmutableId"; a move is deleted + created', async () => {
    await subscribe('/me/messages', { changeType: 'created,deleted' }, { Prefer: 'IdType="ImmutableId"' });
    const msg = emu.state.deliver(alice, mime('moving'));
    emu.state.move(alice, msg, alice.wellKnown('archive').id);
    const got = await rx.waitFor(3);
    assert.deepEqual(got.map((n) => [n.changeType, (n.resourceData as { id: string }).id]), [
      ['created', msg.immutableId],
      ['deleted', msg.immutableId],
      ['created', msg.immutableId],
    ]);
  });

  it('refuses a URL that fails the handshake, and bad requests', async () => {
    rx.answerWrongToken = true;
    const err = await graphError(subscribe('me/messages'));
    assert.equal(err.statusCode, 400);
    assert.equal(err.code, 'ValidationError');
    rx.answerWrongToken = false;
    const tooLong = await graphError(subscribe('me/messages', { expirationDateTime: new Date(Date.now() + 5 * 24 * 3600_000).toISOString() }));
    assert.equal(tooLong.statusCode, 400);
    const badType = await graphError(subscribe('me/messages', { changeType: 'arrived' }));
    assert.equal(badType.statusCode, 400);
    const badResource = await graphError(subscribe('me/events'));
    assert.equal(badResource.statusCode, 400);
    const noUrl = await graphError(me.api('/subscriptions').post({ changeType: 'created', resource: 'me/messages', expirationDateTime: inAnHour() }));
    assert.equal(noUrl.statusCode, 400);
  });

  it('renews with PATCH, lists, reauthorizes and deletes', async () => {
    const sub = await subscribe('me/messages');
    const later = new Date(Date.now() + 2 * 24 * 3600_000).toISOString();
    const renewed = (await me.api(`/subscriptions/${sub.id}`).patch({ expirationDateTime: later })) as MicrosoftGraph.Subscription;
    assert.equal(renewed.expirationDateTime, later);
    const list = (await me.api('/subscriptions').get()) as { value: MicrosoftGraph.Subscription[] };
    assert.deepEqual(list.value.map((s) => s.id), [sub.id]);
    await me.api(`/subscriptions/${sub.id}/reauthorize`).post({});
    await me.api(`/subscriptions/${sub.id}`).delete();
    assert.equal((await graphError(me.api(`/subscriptions/${sub.id}`).get())).statusCode, 404);
    emu.state.deliver(alice, mime('after delete'));
    await emu.subscriptions.idle();
    assert.equal(rx.notifications.length, 0);
  });

  it('sends lifecycle notifications to the lifecycleNotificationUrl; subscriptionRemoved ends it', async () => {
    const life = await startReceiver();
    try {
      const sub = await subscribe('me/messages', { lifecycleNotificationUrl: life.url });
      assert.equal(life.validations.length, 1);
      emu.subscriptions.lifecycle(sub.id as string, 'reauthorizationRequired');
      emu.subscriptions.lifecycle(sub.id as string, 'missed');
      emu.subscriptions.lifecycle(sub.id as string, 'subscriptionRemoved');
      const got = await life.waitFor(3);
      assert.deepEqual(got.map((n) => n.lifecycleEvent), ['reauthorizationRequired', 'missed', 'subscriptionRemoved']);
      assert.equal(got[0].clientState, 'secret-state');
      emu.state.deliver(alice, mime('after removal'));
      await emu.subscriptions.idle();
      assert.equal(rx.notifications.length, 0);
    } finally {
      await life.close();
    }
  });

  it('retries a delivery the endpoint failed', async () => {
    await subscribe('me/messages', { changeType: 'created' });
    rx.failNext = 2;
    emu.state.deliver(alice, mime('retried'));
    await rx.waitFor(1);
    await emu.subscriptions.idle();
    assert.deepEqual(emu.subscriptions.deliveries.map((d) => d.status), [500, 500, 202]);
  });

  it('faults: duplicate, out-of-order and lost notifications', async () => {
    await subscribe('me/messages', { changeType: 'created' });
    emu.faults.duplicateNotifications(1);
    const a = emu.state.deliver(alice, mime('dup'));
    await rx.waitFor(2);
    assert.deepEqual(rx.notifications.map((n) => (n.resourceData as { id: string }).id), [a.restId, a.restId]);

    emu.faults.reorderNotifications(3);
    const order = [emu.state.deliver(alice, mime('r1')), emu.state.deliver(alice, mime('r2')), emu.state.deliver(alice, mime('r3'))];
    await rx.waitFor(5);
    assert.deepEqual(rx.notifications.slice(2).map((n) => (n.resourceData as { id: string }).id), order.map((m) => m.restId).reverse());

    emu.faults.dropNotifications(1);
    emu.state.deliver(alice, mime('lost'));
    const kept = emu.state.deliver(alice, mime('kept'));
    await rx.waitFor(6);
    await emu.subscriptions.idle();
    assert.equal(rx.notifications.length, 6);
    assert.equal((rx.notifications[5].resourceData as { id: string }).id, kept.restId);
  });
});
