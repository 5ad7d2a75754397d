// Many sessions on one mailbox share one view of it (src/imap/mailbox-view.ts): each still
// gets its own, correct updates, and a mailbox deleted under a session does not wedge it.
import assert from 'node:assert/strict';
import type { RawClient } from '../support/raw-client';
import { serverWithUser } from '../support/logged-in';

const MESSAGE = 'Subject: shared\r\n\r\nshared view\r\n';

describe('sessions sharing one mailbox view', function () {
  const env = serverWithUser();
  const login = () => env.login({ keepRecent: true });

  it('pushes one arrival to 20 IDLE sessions, each with its own EXISTS, one of them \\Recent', async () => {
    const actor = await login();
    await actor.command('a0', `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    const idlers: RawClient[] = [];
    const recentAtSelect: number[] = [];
    for (let i = 0; i < 20; i++) {
      const c = await login();
      // Half of them rev1 (they see RECENT), half IMAP4rev2 (they never do).
      if (i % 2 === 1) await c.command('e', 'ENABLE IMAP4rev2');
      const selected = await c.command('s', 'SELECT INBOX');
      recentAtSelect.push(Number(/^\* (\d+) RECENT\r$/m.exec(selected)?.[1] ?? 0));
      c.write('i IDLE\r\n');
      assert.match(await c.readLine(), /^\+ /);
      c.drain();
      idlers.push(c);
    }
    await actor.command('a1', `APPEND INBOX {${MESSAGE.length}+}\r\n${MESSAGE}`);
    let gained = 0;
    for (const [i, c] of idlers.entries()) {
      await c.waitFor((t) => /\* 2 EXISTS\r\n/.test(t));
      const text = c.drain();
      if (i % 2 === 1) assert.doesNotMatch(text, /RECENT/);
      else {
        const m = /^\* (\d) RECENT\r$/m.exec(text);
        assert.ok(m, text);
        gained += Number(m[1]) - recentAtSelect[i];
      }
      c.write('DONE\r\n');
      assert.match(await c.untilTagged('i'), /^i OK/m);
    }
    // The arrival is recent for exactly one session (the first to see it: an idle one).
    assert.equal(gained, 1);
    for (const c of idlers) c.close();
    actor.close();
  });

  it('keeps a session usable after another deletes its selected mailbox', async () => {
    const a = await login();
    const b = await login();
    await b.command('c', 'CREATE Doomed');
    await b.command('ap', `APPEND Doomed {${MESSAGE.length}+}\r\n${MESSAGE}`);
    assert.match(await a.command('s', 'SELECT Doomed'), /^\* 1 EXISTS/m);
    assert.match(await b.command('d', 'DELETE Doomed'), /^d OK/m);
    // Whatever a says about the vanished mailbox, it answers, and then moves on.
    assert.match(await a.command('n', 'NOOP'), /^n (OK|NO)/m);
    assert.match(await a.command('n2', 'NOOP'), /^n2 (OK|NO)/m);
    assert.match(await a.command('s2', 'SELECT INBOX'), /^s2 OK/m);
    assert.match(await a.command('n3', 'NOOP'), /^n3 OK/m);
    a.close();
    b.close();
  });
});
