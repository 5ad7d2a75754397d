// Graph throttling (issue 4) against the emulator with Outlook's accounting switched on, at a
// small scale: at most 4 requests in flight per mailbox, a sliding window of requests (each
// $batch member counted, as Outlook counts them), and a 429 Retry-After that pauses only the
// throttled mailbox: another account keeps syncing and IMAP keeps answering meanwhile.
import assert from 'node:assert/strict';
import { createGraphAdapter } from '../../adapters/graph';
import { limiterFor } from '../../adapters/graph/client';
import type { GraphAdapter } from '../../adapters/graph';
import { mime } from '../emulators/graph/helpers';
import { DEFAULT_CLIENT } from '../emulators/graph/server';
import { eventually } from '../sync/helpers';
import { graphHarnessForSuite, graphUser, imap, shadow } from './graph-helpers';

/** The emulator's limits and the account's, the same (Outlook's shape, smaller numbers). */
const LIMITS = { requests: 60, windowMs: 4000, concurrent: 4 };
const SETTINGS = { requestsPerWindow: LIMITS.requests, windowSeconds: LIMITS.windowMs / 1000, maxConcurrent: LIMITS.concurrent };

describe('Graph throttling', function () {
  this.timeout(90000);
  const h = graphHarnessForSuite({ throttling: LIMITS });
  afterEach(() => h.emu.faults.clear());

  it('never more than 4 requests in flight for a mailbox, batches counted member by member', async () => {
    const address = `conc${process.pid}@contoso.com`;
    const mb = h.emu.state.addMailbox(address);
    const ids = Array.from({ length: 48 }, (_, i) => h.emu.state.deliver(mb, mime(`c${i}`)).immutableId);
    const settings = { mailbox: address, tenant: 'contoso.com', clientId: DEFAULT_CLIENT.clientId, auth: 'app', graphUrl: h.emu.baseUrl, loginUrl: h.emu.loginUrl, caPem: h.emu.ca, ...SETTINGS };
    const adapters = [0, 1, 2].map((i) => createGraphAdapter({ id: `conc-${i}`, settings, credentials: { clientSecret: DEFAULT_CLIENT.clientSecret } }) as GraphAdapter);
    const before = h.emu.faults.throttledCount;
    h.emu.faults.slow(40, { times: Infinity, path: encodeURIComponent(address) });
    try {
      const sessions = await Promise.all(adapters.map((a) => a.connect()));
      const got = new Map<string, Buffer>();
      const keep = async (id: string, raw: Buffer): Promise<void> => {
        got.set(id, raw);
      };
      // Two batches of 20 and eight single fetches at once, from three sessions.
      await Promise.all([
        sessions[0].fetchRaw('inbox', ids.slice(0, 20), keep),
        sessions[1].fetchRaw('inbox', ids.slice(20, 40), keep),
        ...ids.slice(40).map((id, i) => sessions[2 - (i % 2)].fetchRaw('inbox', [id], keep)),
      ]);
      assert.equal(got.size, 48);
      for (const id of ids) assert.match(got.get(id)!.toString('latin1'), /^From: /);
    } finally {
      for (const a of adapters) a.dispose();
      h.emu.faults.clear();
    }
    assert.equal(h.emu.faults.throttledCount, before, 'the emulator refused nothing: concurrency and window kept');
    const limiter = limiterFor(adapters[0].settings);
    assert.equal(limiter.peakInFlight, 4, 'the slots were all used, never more');
    assert.ok(limiter.counted >= 48, `each body counted (${limiter.counted})`);
  });

  it('a first sync larger than the window is paced by the gateway, not refused by the backend', async () => {
    const before = h.emu.faults.throttledCount;
    const u = await graphUser(h, SETTINGS, (mb) => {
      for (let i = 0; i < 110; i++) h.emu.state.deliver(mb, mime(`paced ${i}`));
    });
    const cached = async (): Promise<number> => {
      const [row] = await h.server.memgate.database.dataSource.query(
        `SELECT count(*)::int AS n FROM backend_messages b JOIN message_contents c ON c.id = b.content_id WHERE b.account_id = $1 AND c.raw IS NOT NULL`,
        [u.accountId],
      );
      return (row as { n: number }).n;
    };
    await eventually(async () => (await cached()) === 110, 60000, 'every body cached');
    assert.equal(h.emu.faults.throttledCount, before, 'no 429: more than a window of requests went out, paced');
    const rows = await shadow(h, u, 'INBOX');
    assert.equal(rows.length, 110);
    assert.deepEqual(
      rows.map((r) => r.uid),
      Array.from({ length: 110 }, (_, i) => i + 1),
    );
  });

  it('a 429 Retry-After pauses only that mailbox: another account syncs, IMAP answers from the cache', async () => {
    const alice = await graphUser(h, SETTINGS, (mb) => h.emu.state.deliver(mb, mime('cached before')));
    const bob = await graphUser(h, SETTINGS);
    await eventually(async () => (await shadow(h, alice, 'INBOX')).length === 1, 20000, 'alice synced');
    await eventually(async () => (await h.server.sync.account(bob.accountId))?.state === 'idle', 20000, 'bob synced');
    const mine = new RegExp(encodeURIComponent(alice.address));
    h.emu.faults.throttle(8, { path: mine, times: 1 });
    h.emu.state.deliver(alice.mailbox, mime('for alice, after the pause'));
    await eventually(() => h.emu.faults.pending() === 0, 20000, 'alice throttled');
    h.emu.state.deliver(bob.mailbox, mime('for bob, meanwhile'));
    await eventually(async () => (await shadow(h, bob, 'INBOX')).length === 1, 6000, 'bob not held up by alice');
    assert.equal((await shadow(h, alice, 'INBOX')).length, 1, 'alice is still waiting out her Retry-After');
    const client = await imap(h, alice);
    try {
      const box = await client.mailboxOpen('INBOX');
      assert.equal(box.exists, 1);
      const [m] = await client.fetchAll('1', { envelope: true, source: true });
      assert.equal(m.envelope?.subject, 'cached before');
    } finally {
      await client.logout();
    }
    await eventually(async () => (await shadow(h, alice, 'INBOX')).length === 2, 30000, 'alice after the pause');
  });
});
