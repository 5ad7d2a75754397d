// A history id Gmail no longer knows (404) means a full resync, matched by message id. It
// must be correct (the flags changed while history was lost are the ones reported, new
// messages have their metadata, messages gone are left out) and cheap: the ids the gateway
// already shows need only their flags, which come from listing the flag labels, not from a
// metadata get (5 units) each. Measured with the emulator's quota accounting.
import assert from 'node:assert/strict';
import type { ChangeSet, ListedMessage } from '../../adapters/contract';
import { ALL_MAIL } from '../../adapters/gmail';
import { gmailFixture, GMAIL_USER, mime, type GmailFixture } from '../support/gmail';

const N = 300;

function snapshotOf(c: ChangeSet): ListedMessage[] {
  assert.equal(c.kind, 'snapshot');
  return c.kind === 'snapshot' ? c.messages : [];
}

describe('Gmail adapter: resync after a history 404', function () {
  this.timeout(30000);
  let fx: GmailFixture;

  beforeEach(async () => {
    fx = await gmailFixture();
  });
  afterEach(async () => {
    await fx.emu.stop();
    assert.deepEqual(fx.emu.state.violations, []);
  });

  const mb = (): ReturnType<GmailFixture['emu']['state']['mailbox']> => fx.emu.state.mailbox(GMAIL_USER);
  const usage = (): { units: number; gets: number } => {
    const u = fx.emu.state.quota.usage(GMAIL_USER);
    return { units: u.units, gets: u.calls['gmail.users.messages.get'] ?? 0 };
  };

  it(`${N} known messages: flags from the flag labels, metadata only for new ids, a few dozen units`, async () => {
    mb().labels.create({ name: 'Work', labelListVisibility: 'labelShow', messageListVisibility: 'show' });
    const work = mb().labels.byName('Work')!.id;
    const ids = Array.from({ length: N }, (_, i) => fx.emu.state.deliver(GMAIL_USER, mime({ subject: `m${i}` }), i < 30 ? ['INBOX', 'UNREAD', work] : ['INBOX', 'UNREAD']).id);
    let session = await fx.adapter.connect();
    const folders = ['INBOX', ALL_MAIL, work, 'STARRED'];
    const known = new Map<string, Set<string>>();
    for (const f of folders) known.set(f, new Set(snapshotOf(await session.changes(f, null)).map((m) => m.id)));
    const cursor = String(mb().history.current());
    session.abort();

    // While the gateway is away, more than Gmail's history keeps happens.
    for (const id of ids.slice(0, 40)) mb().modify(id, [], ['UNREAD']);
    for (const id of ids.slice(100, 105)) mb().modify(id, ['STARRED'], []);
    for (const id of ids.slice(200, 203)) mb().modify(id, [work], []);
    for (const id of ids.slice(250, 252)) mb().modify(id, [], ['INBOX']);
    mb().delete(ids[299]!);
    const fresh = [fx.emu.state.deliver(GMAIL_USER, mime({ subject: 'new 1' })).id, fx.emu.state.deliver(GMAIL_USER, mime({ subject: 'new 2' })).id];
    fx.emu.state.expireHistory(GMAIL_USER);

    const before = usage();
    session = await fx.adapter.connect();
    const after = new Map<string, ListedMessage[]>();
    for (const f of folders) {
      const set = await session.changes(f, cursor, async () => known.get(f)!);
      assert.match(set.kind === 'snapshot' ? set.reason ?? '' : '', /404/);
      after.set(f, snapshotOf(set));
    }
    session.abort();
    const spent = { units: usage().units - before.units, gets: usage().gets - before.gets };

    // Correct: membership and flags as Gmail has them now.
    for (const f of folders) {
      const expected = mb()
        .all()
        .filter((m) => (f === ALL_MAIL ? !m.labelIds.includes('SPAM') && !m.labelIds.includes('TRASH') : m.labelIds.includes(f)))
        .sort((a, b) => Number(a.internalDate) - Number(b.internalDate));
      assert.deepEqual(new Set(after.get(f)!.map((m) => m.id)), new Set(expected.map((m) => m.id)), `members of ${f}`);
      for (const m of after.get(f)!) {
        const labels = mb().get(m.id).labelIds;
        const flags = [...(labels.includes('UNREAD') ? [] : ['\\Seen']), ...(labels.includes('STARRED') ? ['\\Flagged'] : [])];
        assert.deepEqual(m.flags, flags, `flags of ${m.id} in ${f}`);
      }
    }
    const inbox = after.get('INBOX')!;
    assert.deepEqual(inbox.slice(-2).map((m) => m.id), fresh, 'new ones last (oldest first)');
    for (const m of inbox.slice(-2)) assert.equal(m.size, mb().get(m.id).raw.length, 'a new message has its real size');

    // Cheap: metadata for the two new messages, the three newly in Work and the five newly
    // in Starred (each gets a shadow copy there); the ~300 known ones cost a share of a
    // few list pages (one metadata get each would be 5 units a message and folder).
    assert.equal(spent.gets, 2 + 3 + 5, 'messages.get only for ids the folder does not show yet');
    assert.ok(spent.units <= 100, `${spent.units} units for the resync of ${folders.length} folders`);

    // The same resync without knowing what the gateway shows lists first too (no metadata
    // get per message: sizes and dates come with the bodies).
    const blind = usage();
    session = await fx.adapter.connect();
    for (const f of folders) snapshotOf(await session.changes(f, cursor));
    session.abort();
    assert.ok(usage().gets - blind.gets <= 2 + 3 + 5, `${usage().gets - blind.gets} messages.get without knownIds`);
  });

  it('a few known messages: their metadata is cheaper than listing the flag labels', async () => {
    const a = fx.emu.state.deliver(GMAIL_USER, mime()).id;
    let session = await fx.adapter.connect();
    snapshotOf(await session.changes('INBOX', null));
    const cursor = String(mb().history.current());
    session.abort();
    mb().modify(a, [], ['UNREAD']);
    fx.emu.state.expireHistory(GMAIL_USER);
    session = await fx.adapter.connect();
    const lists = (): number => fx.emu.state.quota.usage(GMAIL_USER).calls['gmail.users.messages.list'] ?? 0;
    const listsBefore = lists();
    const again = snapshotOf(await session.changes('INBOX', cursor, async () => new Set([a])));
    assert.deepEqual(again.map((m) => [m.id, m.flags]), [[a, ['\\Seen']]]);
    assert.equal(lists() - listsBefore, 1, 'only the folder listing, no flag-label lists');
    session.abort();
  });
});
