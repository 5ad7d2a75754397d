// Gmail's real per-user ceiling below the one the adapter is set to (Google has documented
// 15,000 units a minute and, in a later revision, 6,000): the emulator's quota meter refuses
// with 429 (or 403, as older documentation says) userRateLimitExceeded and names the time to
// retry; the adapter pauses the user until then instead of guessing, and the sync finishes
// with nothing lost. Time is virtual, shared by the emulator and the adapter.
import assert from 'node:assert/strict';
import { QuotaBudget } from '../../adapters/gmail/quota';
import { gmailFixture, GMAIL_USER, mime, VirtualClock, type GmailFixture } from '../support/gmail';

describe('Gmail adapter: a per-user ceiling lower than configured', function () {
  this.timeout(30000);
  let fx: GmailFixture | undefined;
  afterEach(async () => {
    await fx?.emu.stop();
    if (fx) assert.deepEqual(fx.emu.state.violations, []);
    fx = undefined;
  });

  it('units count from the end of the call that spent them (Gmail charges a batch as it runs)', async () => {
    const clock = new VirtualClock();
    const budget = new QuotaBudget(10, clock);
    const t0 = clock.now();
    const booking = await budget.take(10);
    clock.t += 5_000; // a batch that ran for 5 s
    budget.settle(booking);
    await budget.take(5);
    assert.equal(clock.now() - t0, 65_000, 'the units left the window 60 s after the call ended');
  });

  for (const status of [429, 403] as const) {
    it(`${status} userRateLimitExceeded with "Retry after <time>": the user waits until then, nothing lost`, async () => {
      const clock = new VirtualClock();
      // Gmail grants 600 units a minute; the adapter believes 15,000. 120 messages cost a few
      // list pages and 600 units of bodies (batched by 20: 100 units a batch).
      fx = await gmailFixture({ clock, unitsPerMinute: 15000, settings: { maxAttempts: 4 }, emulator: { now: clock.now, quota: { perUserPerMinute: 600, userLimitStatus: status } } });
      const ids = Array.from({ length: 120 }, (_, i) => fx!.emu.state.deliver(GMAIL_USER, mime({ subject: `m${i}` })).id);
      const session = await fx.adapter.connect();
      const snap = await session.changes('INBOX', null);
      assert.deepEqual(snap.kind === 'snapshot' ? snap.messages.map((m) => m.id) : null, ids, 'every message, in order');
      const got: string[] = [];
      await session.fetchRaw('INBOX', [...ids].reverse(), async (id) => {
        got.push(id);
      });
      assert.deepEqual(got, [...ids].reverse(), 'every body, in the order asked');
      const usage = fx.emu.state.quota.usage(GMAIL_USER);
      assert.ok(usage.refused >= 1, 'Gmail refused at least once');
      // Refusals are counted per call inside a batch: at most one batch of bodies (20) is refused.
      assert.ok(usage.refused <= 20, `few refusals (${usage.refused}): the adapter waited for the time Gmail named`);
      assert.ok(fx.budget.totals.throttled >= 1);
      assert.ok(clock.slept >= 30_000 && clock.slept <= 180_000, `slept ${clock.slept} ms: about the quota window, not a blind backoff`);
      session.abort();
    });
  }
});
