// Graph push end to end (issue 4): memgate's push listener behind the subscriptions the
// Graph adapter makes in the emulator (one per folder), seen by an IDLE-ing imapflow client.
// Accounts poll once an hour here, so a message that shows up at once came by push.
import assert from 'node:assert/strict';
import net from 'node:net';
import { ImapFlow } from 'imapflow';
import { mime } from '../emulators/graph/helpers';
import { startGraphEmulator } from '../emulators/graph/server';
import { graphUser, imap, shadow, type GraphHarness, type GraphUser } from '../adapters/graph-helpers';
import { eventually, startSyncServer, type SyncServer } from './helpers';
import { Arrivals, PUSH_ON, pushRows, pushStats, quiet, subscribed } from './push-helpers';

const HOUR = { pollIntervalSeconds: 3600 };

describe('Graph push through memgate (emulator subscriptions)', function () {
  this.timeout(90000);
  let h: GraphHarness;
  const clients: ImapFlow[] = [];

  before(async () => {
    const emu = await startGraphEmulator({ notifications: { retryDelayMs: 100 } });
    const server = await startSyncServer({ push: PUSH_ON });
    if (process.env.PUSH_DEBUG) {
      const out = (level: string) => (o: unknown, m?: string) => console.log(level, typeof o === 'string' ? o : m, JSON.stringify(o).slice(0, 300));
      Object.assign(server.log, { info: out('INFO'), warn: out('WARN'), debug: out('DEBUG') });
    }
    h = {
      server,
      emu,
      async stop() {
        await server.stop();
        await emu.stop();
      },
    };
  });
  after(async () => {
    for (const c of clients.splice(0)) await c.logout().catch(() => undefined);
    await h?.stop();
  });

  async function idling(u: GraphUser, server: SyncServer = h.server): Promise<Arrivals> {
    const client = await imap({ ...h, server }, u);
    clients.push(client);
    const arrivals = new Arrivals(client);
    await arrivals.start();
    return arrivals;
  }

  const inboxSub = (u: GraphUser) => h.emu.subscriptions.list().find((s) => s.mailbox === u.mailbox && s.folderId === u.mailbox.wellKnown('inbox').id);
  const since = (n: number) => h.emu.requests.slice(n);

  it('mail created in the emulator reaches an IDLE-ing client by push, with a delta of that folder only', async () => {
    const u = await graphUser(h, HOUR);
    const rows = await subscribed(h.server, u.accountId, true);
    // One subscription per mirrored folder, each validated at memgate's listener.
    assert.equal(h.emu.subscriptions.list().filter((s) => s.mailbox === u.mailbox).length, rows.length);
    assert.ok(inboxSub(u), 'the inbox is watched');
    const arrivals = await idling(u);
    const mark = h.emu.requests.length;
    h.emu.state.deliver(u.mailbox, mime('pushed'));
    await arrivals.waitFor('pushed');
    const inbox = u.mailbox.wellKnown('inbox').id;
    const after = since(mark);
    assert.ok(after.some((r) => r.path.includes(`/mailFolders/${inbox}/messages/delta`)), 'a delta of the inbox');
    assert.ok(!after.some((r) => /\/mailFolders$/.test(r.path)), 'no folder listing: the notification named the folder');
    assert.ok(h.emu.subscriptions.deliveries.some((d) => d.status === 202), 'the listener answered 202');
    assert.equal((await shadow(h, u, 'INBOX')).length, 1);
  });

  it('duplicate and out-of-order notifications show each message once', async () => {
    const u = await graphUser(h, HOUR);
    await subscribed(h.server, u.accountId, true);
    const arrivals = await idling(u);
    // The first two notifications arrive twice each, the next three in reverse order.
    h.emu.faults.duplicateNotifications(2);
    h.emu.faults.reorderNotifications(3);
    const subjects = ['one', 'two', 'three', 'four', 'five'];
    for (const s of subjects) h.emu.state.deliver(u.mailbox, mime(s));
    for (const s of subjects) await arrivals.waitFor(s);
    await h.emu.subscriptions.idle();
    await quiet(() => h.emu.requests.length);
    const rows = await shadow(h, u, 'INBOX');
    assert.equal(rows.length, 5);
    assert.equal(new Set(rows.map((r) => r.backendId)).size, 5);
    assert.deepEqual([...arrivals.subjects].sort(), [...subjects].sort());
    const sub = inboxSub(u)!;
    const created = h.emu.subscriptions.deliveries.filter((d) => d.body.value?.some((n) => n.subscriptionId === sub.id && n.changeType === 'created'));
    assert.ok(created.length >= subjects.length + 2, `duplicates were delivered (${created.length})`);
  });

  it('ignores a notification whose clientState or subscription id is wrong, and acts on a genuine one', async () => {
    const u = await graphUser(h, HOUR);
    const rows = await subscribed(h.server, u.accountId, true);
    const inbox = u.mailbox.wellKnown('inbox').id;
    const row = rows.find((r) => r.folderId === inbox)!;
    // Let the catch-up deltas after subscribing finish before counting requests.
    await quiet(() => h.emu.requests.length);
    const url = `${h.server.memgate.push!.localUrl}/push/${row.token}`;
    const post = (clientState: string, subscriptionId = row.remoteId!) =>
      fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ value: [{ subscriptionId, clientState, changeType: 'created', resource: 'Users/x/Messages/y', tenantId: h.emu.state.tenantId }] }),
      });
    const stats = pushStats(h.server);
    const ignored = stats.ignored;
    const mark = h.emu.requests.length;
    assert.equal((await post('not-the-secret')).status, 202, 'answered 202 all the same (webhooks.md)');
    assert.equal((await post(row.secret, '00000000-0000-0000-0000-000000000000')).status, 202);
    await eventually(() => stats.ignored === ignored + 2, 10000, 'both ignored');
    assert.ok(!since(mark).some((r) => r.path.includes('/delta')), 'no delta for a forged notification');
    const received = stats.received;
    assert.equal((await post(row.secret)).status, 202);
    await eventually(() => stats.received === received + 1, 10000, 'genuine one received');
    await eventually(() => since(mark).some((r) => r.path.includes(`/mailFolders/${inbox}/messages/delta`)), 10000, 'a delta after the genuine one');
  });

  it('subscriptionRemoved -> a new subscription; reauthorizationRequired -> renewed; missed -> a delta', async () => {
    const u = await graphUser(h, HOUR);
    await subscribed(h.server, u.accountId, true);
    const arrivals = await idling(u);
    const first = inboxSub(u)!;
    h.emu.subscriptions.lifecycle(first.id, 'subscriptionRemoved');
    const second = await eventually(() => {
      const s = inboxSub(u);
      return s && s.id !== first.id ? s : null;
    }, 30000, 'the subscription made again');
    await eventually(async () => (await pushRows(h.server, u.accountId)).some((r) => r.remoteId === second.id && r.state === 'active'), 10000, 'stored');
    h.emu.state.deliver(u.mailbox, mime('after re-create'));
    await arrivals.waitFor('after re-create');

    const mark = h.emu.requests.length;
    h.emu.subscriptions.lifecycle(second.id, 'reauthorizationRequired');
    await eventually(() => since(mark).some((r) => r.method === 'PATCH' && r.path.endsWith(`/subscriptions/${second.id}`)), 10000, 'renewed');
    assert.equal(inboxSub(u)?.id, second.id, 'the same subscription');

    // A lost notification: the message waits for the hourly poll, until Graph says "missed".
    await quiet(() => h.emu.requests.length);
    h.emu.faults.dropNotifications(1);
    h.emu.state.deliver(u.mailbox, mime('missed one'));
    await h.emu.subscriptions.idle();
    await quiet(() => h.emu.requests.length);
    assert.ok(!arrivals.subjects.includes('missed one'));
    h.emu.subscriptions.lifecycle(second.id, 'missed');
    await arrivals.waitFor('missed one');
  });

  it('renews subscriptions before they expire (short lifetime), keeping their ids', async () => {
    const u = await graphUser(h, { ...HOUR, subscriptionMinutes: 0.25 });
    const rows = await subscribed(h.server, u.accountId, true);
    const inbox = u.mailbox.wellKnown('inbox').id;
    const before = rows.find((r) => r.folderId === inbox)!;
    const renewed = await eventually(
      async () => {
        const now = (await pushRows(h.server, u.accountId)).find((r) => r.folderId === inbox)!;
        return now.expiresAt!.getTime() > before.expiresAt!.getTime() ? now : null;
      },
      30000,
      'a renewal',
    );
    assert.equal(renewed.remoteId, before.remoteId, 'renewed, not made again');
    assert.ok(h.emu.requests.some((r) => r.method === 'PATCH' && r.path.endsWith(`/subscriptions/${before.remoteId}`)));
    // Past the first expiry, notifications still flow.
    await new Promise((r) => setTimeout(r, Math.max(0, before.expiresAt!.getTime() - Date.now() + 500)));
    const arrivals = await idling(u);
    h.emu.state.deliver(u.mailbox, mime('after renewal'));
    await arrivals.waitFor('after renewal');
  });

  it('polls at MEMGATE_PUSH_POLL_SECONDS instead of the account interval while subscriptions are healthy', async () => {
    const u = await graphUser(h, { pollIntervalSeconds: 1 });
    await subscribed(h.server, u.accountId, true);
    await quiet(() => h.emu.requests.length);
    const mark = h.emu.requests.length;
    const listings = () => since(mark).filter((r) => r.path.endsWith(`/users/${encodeURIComponent(u.address)}/mailFolders`) || r.path.endsWith(`/users/${u.address}/mailFolders`));
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(listings().length, 0, 'no full poll for 3 s with a 1 s interval');
    // A subscription lost for good (making it again fails): polling at the account's interval resumes.
    h.emu.faults.drop({ method: 'POST', path: '/subscriptions', times: 1000 });
    h.emu.subscriptions.lifecycle(inboxSub(u)!.id, 'subscriptionRemoved');
    try {
      await eventually(() => listings().length >= 2, 20000, 'full polls again');
    } finally {
      h.emu.faults.clear();
    }
  });

  it('a restarted memgate carries on with the stored subscriptions instead of making new ones', async () => {
    // A fixed port, so that the public URL stays the same across the restart.
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const push = { port, publicUrl: `http://127.0.0.1:${port}` };
    let first: SyncServer | null = await startSyncServer({ push });
    const { databaseUrl, dataDir } = first;
    let second: SyncServer | null = null;
    try {
      const u = await graphUser({ ...h, server: first }, HOUR);
      const before = await subscribed(first, u.accountId, true);
      // This account's subscriptions at the emulator (other tests' accounts share it).
      const mine = (): string[] => h.emu.subscriptions.list().filter((s) => s.mailbox === u.mailbox).map((s) => s.id).sort();
      await first.stop();
      first = null;
      const made = mine();
      assert.equal(made.length, before.length);
      second = await startSyncServer({ databaseUrl, dataDir, push });
      const server = second;
      await eventually(async () => (await server.sync.account(u.accountId))?.lease_owner === server.memgate.sync.owner, 20000, 'the account taken over');
      const arrivals = await idling(u, server);
      h.emu.state.deliver(u.mailbox, mime('after the restart'));
      await arrivals.waitFor('after the restart');
      await quiet(() => h.emu.requests.length);
      assert.deepEqual(mine(), made, 'no subscription made again');
      const after = await pushRows(server, u.accountId);
      assert.deepEqual(after.map((r) => r.remoteId).sort(), before.map((r) => r.remoteId).sort());
    } finally {
      for (const c of clients.splice(0)) await c.logout().catch(() => undefined);
      await first?.stop();
      await second?.stop();
    }
  });

  it('a notification reaching a process that does not hold the account is queued for the holder', async () => {
    // B: a listener only (its sync engine does not scan again, so it never holds the account).
    const b = await startSyncServer({ databaseUrl: h.server.databaseUrl, dataDir: h.server.dataDir, sync: { scanMs: 3_600_000 }, push: { port: 'ephemeral' } });
    let a: SyncServer | null = null;
    try {
      // A: holds the account; Graph posts to B's listener (as behind a load balancer).
      a = await startSyncServer({ databaseUrl: h.server.databaseUrl, dataDir: h.server.dataDir, push: { publicUrl: b.memgate.push!.localUrl } });
      await h.server.stop(); // the shared server would otherwise compete for the account
      const u = await graphUser({ ...h, server: a }, HOUR);
      const rows = await subscribed(a, u.accountId, true);
      assert.ok(rows.every((r) => r.baseUrl === b.memgate.push!.localUrl));
      const arrivals = await idling(u, a);
      h.emu.state.deliver(u.mailbox, mime('via the other process'));
      await arrivals.waitFor('via the other process');
      assert.equal(b.memgate.sync.push, null, 'B makes no subscriptions');
    } finally {
      for (const c of clients.splice(0)) await c.logout().catch(() => undefined);
      await a?.stop();
      await b.stop();
    }
  });
});
