// Pure rules of the store: flag and name normalisation, NOTIFY payload splitting.
import assert from 'node:assert/strict';
import { CannotError } from '../../src/core/errors';
import { applyFlagOperation, normaliseFlags, sameFlags } from '../../src/store/flags';
import { MAX_NOTIFY_BYTES, notifyPayloads } from '../../src/store/event-bus';
import { normaliseMailboxName, parentNames } from '../../src/store/names';
import { hashPassword, verifyPassword } from '../../src/store/passwords';

describe('store rules', () => {
  it('normalises system flags, keeps keyword spelling, drops \\Recent and duplicates', () => {
    assert.deepEqual(normaliseFlags(['\\SEEN', 'Foo', '\\recent', 'foo', '\\draft', '\\Seen']), ['\\Seen', 'Foo', '\\Draft']);
    assert.deepEqual(applyFlagOperation(['\\Seen', 'Foo'], 'remove', ['FOO']), ['\\Seen']);
    assert.deepEqual(applyFlagOperation(['\\Seen'], 'add', ['\\seen', 'bar']), ['\\Seen', 'bar']);
    assert.deepEqual(applyFlagOperation(['\\Seen'], 'set', []), []);
    assert.ok(sameFlags(['a', '\\Seen'], ['\\Seen', 'A']));
    assert.ok(!sameFlags(['a'], ['b']));
  });

  it('normalises mailbox names', () => {
    assert.equal(normaliseMailboxName('inbox'), 'INBOX');
    assert.equal(normaliseMailboxName('InBox/Sub/inbox'), 'INBOX/Sub/inbox');
    assert.equal(normaliseMailboxName('Inboxes'), 'Inboxes');
    assert.equal(normaliseMailboxName('a/b/'), 'a/b');
    for (const bad of ['', '/', 'a//b', '/a', 'a%', 'x\r\ny']) {
      assert.throws(() => normaliseMailboxName(bad), CannotError, JSON.stringify(bad));
    }
    assert.deepEqual(parentNames('a/b/c'), ['a', 'a/b']);
  });

  it('splits NOTIFY payloads that would exceed the PostgreSQL limit', () => {
    const uids = Array.from({ length: 5000 }, (_, i) => 4_000_000_000 + i);
    const payloads = notifyPayloads({ kind: 'MessageNew', userId: '1', mailboxId: '2', uids, modseq: 9, origin: 'o' });
    assert.ok(payloads.length > 1);
    const seen: number[] = [];
    for (const p of payloads) {
      assert.ok(Buffer.byteLength(p) <= MAX_NOTIFY_BYTES);
      const e = JSON.parse(p) as { uids: number[]; modseq: number };
      assert.equal(e.modseq, 9);
      seen.push(...e.uids);
    }
    assert.deepEqual(seen, uids);
    assert.equal(notifyPayloads({ kind: 'MailboxCreate', userId: '1', mailboxId: '2', name: 'x' }).length, 1);
  });

  it('hashes passwords with a fresh salt and verifies them', async () => {
    const a = await hashPassword('pw');
    const b = await hashPassword('pw');
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('pw', a), true);
    assert.equal(await verifyPassword('pW', a), false);
    assert.equal(await verifyPassword('pw', 'garbage'), false);
  });
});
