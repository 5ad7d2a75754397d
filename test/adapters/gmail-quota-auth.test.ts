// The Gmail adapter under quota and token trouble: it paces itself under the per-user
// ceiling (no refusal from the emulator), backs off on 429 and 5xx, gives up with a
// retry-after the sync engine honours, refreshes tokens before they expire, and reports a
// revoked grant as needing new credentials. Time is virtual (shared with the emulator).
import assert from 'node:assert/strict';
import { ALL_MAIL, GmailAdapter } from '../../adapters/gmail';
import { QuotaBudget } from '../../adapters/gmail/quota';
import { adapterError, gmailAccountCredentials, gmailAccountSettings, gmailFixture, GMAIL_USER, mime, VirtualClock, type GmailFixture } from '../support/gmail';

describe('Gmail adapter: quota and OAuth', function () {
  this.timeout(20000);
  let fx: GmailFixture | undefined;
  afterEach(async () => {
    await fx?.emu.stop();
    if (fx) assert.deepEqual(fx.emu.state.violations, []);
    fx = undefined;
  });

  it('paces a first sync under the per-user ceiling: slowed by the budget, never refused, nothing lost', async () => {
    const clock = new VirtualClock();
    // A ceiling of 200 units a minute: 60 messages cost 300 units of bodies alone.
    fx = await gmailFixture({ clock, unitsPerMinute: 200, emulator: { now: clock.now, quota: { perUserPerMinute: 200 } } });
    const ids = Array.from({ length: 60 }, (_, i) => fx!.emu.state.deliver(GMAIL_USER, mime({ subject: `m${i}` })).id);
    const session = await fx.adapter.connect();
    const snap = await session.changes('INBOX', null);
    assert.equal(snap.kind, 'snapshot');
    assert.deepEqual(snap.kind === 'snapshot' ? snap.messages.map((m) => m.id) : [], ids);
    let bodies = 0;
    await session.fetchRaw('INBOX', ids, async () => {
      bodies++;
    });
    assert.equal(bodies, ids.length, 'every body');
    const usage = fx.emu.state.quota.usage(GMAIL_USER);
    assert.equal(usage.refused, 0, 'the adapter stayed under the ceiling');
    assert.ok(clock.slept >= 60_000, `it waited for the quota window (slept ${clock.slept} ms)`);
    assert.ok(usage.units >= 300);
    session.abort();
  });

  it('retries 429 rateLimitExceeded and 500 with backoff, pausing the user on 429', async () => {
    const clock = new VirtualClock();
    fx = await gmailFixture({ clock, emulator: { now: clock.now } });
    const m = fx.emu.state.deliver(GMAIL_USER, mime());
    const session = await fx.adapter.connect();
    fx.emu.faults.failNext('messages.list', 429, 2, 'rateLimitExceeded');
    fx.emu.faults.failNext('messages.get', 500, 1);
    fx.emu.faults.failNext('history.list', 429, 1, 'userRateLimitExceeded');
    const snap = await session.changes('INBOX', null);
    assert.deepEqual(snap.kind === 'snapshot' ? snap.messages.map((x) => x.id) : null, [m.id]);
    assert.equal((await session.changes('INBOX', snap.cursor)).kind, 'delta');
    assert.ok(fx.budget.totals.throttled >= 3);
    assert.ok(clock.slept > 0);
    session.abort();
  });

  it('gives up after its attempts with an unavailable error carrying a retry-after, and recovers', async () => {
    const clock = new VirtualClock();
    fx = await gmailFixture({ clock, emulator: { now: clock.now }, settings: { maxAttempts: 3 } });
    fx.emu.faults.failNext('labels.list', 429, 3, 'userRateLimitExceeded');
    const session = await fx.adapter.connect();
    const err = await adapterError(session.listFolders());
    assert.equal(err.kind, 'unavailable');
    assert.ok((err.retryAfterSeconds ?? 0) > 0);
    assert.ok((await session.listFolders()).some((f) => f.id === ALL_MAIL));
    session.abort();
  });

  it('one user waiting on its budget does not hold another user', async () => {
    const clock = new VirtualClock();
    const busy = new QuotaBudget(10, clock);
    await busy.take(10);
    const other = new QuotaBudget(10, clock);
    const order: string[] = [];
    const a = busy.take(5).then(() => order.push('busy'));
    const b = other.take(5).then(() => order.push('other'));
    await Promise.all([a, b]);
    assert.deepEqual(order, ['other', 'busy']);
  });

  it('refreshes the access token before it expires and after the server expired it', async () => {
    // Tokens that live 2 minutes: inside the five-minute margin, so each session refreshes first.
    fx = await gmailFixture({ emulator: { tokenLifetimeSeconds: 120 } });
    const tokenCalls = (): number => fx!.emu.state.requests.filter((r) => r.path === '/token').length;
    let s = await fx.adapter.connect();
    await s.listFolders();
    const after1 = tokenCalls();
    s = await fx.adapter.connect();
    await s.listFolders();
    assert.ok(tokenCalls() > after1, 'a token close to expiry is refreshed before use');
    assert.equal(fx.emu.state.requests.filter((r) => r.status === 401).length, 0, 'no call ran into an expired token');
    await fx.emu.stop();

    fx = await gmailFixture();
    s = await fx.adapter.connect();
    await s.listFolders();
    fx.emu.faults.expireTokens(GMAIL_USER);
    assert.ok((await s.listFolders()).length > 0, 'an access token the server expired early is refreshed once');
  });

  it('a revoked grant is an auth error: the account needs new credentials', async () => {
    fx = await gmailFixture();
    const s = await fx.adapter.connect();
    await s.listFolders();
    fx.emu.faults.revokeGrant(GMAIL_USER);
    const err = await adapterError(s.listFolders());
    assert.equal(err.kind, 'auth');
    const fresh = new GmailAdapter({ id: 'x', settings: gmailAccountSettings(fx.emu), credentials: { refreshToken: 'nonsense', clientSecret: 'emulator-client-secret' } });
    assert.equal((await adapterError(fresh.connect())).kind, 'auth');
    assert.equal((await adapterError(Promise.resolve().then(() => new GmailAdapter({ id: 'y', settings: gmailAccountSettings(fx!.emu), credentials: {} })))).kind, 'auth');
  });

  it('probe checks that the grant is for the configured address', async () => {
    fx = await gmailFixture({ emulator: { users: [GMAIL_USER, 'bob@example.com'] } });
    await fx.adapter.probe();
    const wrong = new GmailAdapter({ id: 'z', settings: gmailAccountSettings(fx.emu, {}, GMAIL_USER), credentials: gmailAccountCredentials(fx.emu, 'bob@example.com') });
    const err = await adapterError(wrong.probe());
    assert.equal(err.kind, 'unsupported');
    assert.match(err.message, /bob@example.com/);
  });
});
