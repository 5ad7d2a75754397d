// RFC822.SIZE of Graph messages (issue 4). Graph announces no size, so a large first sync lists
// messages before their bodies are fetched (more than the 50 the engine fetches before
// announcing). A client asking for RFC822.SIZE meanwhile must get the length of the bytes it
// will be served, never 0 and then another number (design invariant 3).
import assert from 'node:assert/strict';
import { mime } from '../emulators/graph/helpers';
import { eventually } from '../sync/helpers';
import { graphHarnessForSuite, graphUser, imap } from './graph-helpers';

describe('Graph RFC822.SIZE', function () {
  this.timeout(90000);
  const h = graphHarnessForSuite();
  afterEach(() => h.emu.faults.clear());

  it('is exact from the first look while a large first sync still fetches bodies', async () => {
    // Bodies come slowly, so the listing is shown long before the fill ends.
    h.emu.faults.slow(100, { path: '/$value', times: Infinity });
    const u = await graphUser(h, {}, (mb) => {
      for (let i = 0; i < 60; i++) h.emu.state.deliver(mb, mime(`bulk ${i}`, { multipart: i % 2 === 0, body: 'x'.repeat(i * 7) }));
    });
    const unsized = async (): Promise<number> => {
      const [row] = await h.server.memgate.database.dataSource.query(
        `SELECT count(*)::int AS n FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id WHERE m.user_id = $1 AND m.name = 'INBOX' AND mm.size = 0`,
        [u.userId],
      );
      return (row as { n: number }).n;
    };
    const client = await imap(h, u);
    try {
      await eventually(async () => ((await client.status('INBOX', { messages: true })) || { messages: 0 }).messages === 60, 20000, 'listed');
      assert.ok((await unsized()) > 0, 'listed before their bodies (the case under test)');
      await client.mailboxOpen('INBOX');
      const first = new Map<number, number>();
      for await (const m of client.fetch('1:*', { uid: true, size: true })) first.set(m.uid, m.size!);
      assert.equal(first.size, 60);
      for (const [uid, size] of first) assert.ok(size > 0, `RFC822.SIZE of ${uid} is ${size}`);
      h.emu.faults.clear();
      await eventually(async () => (await unsized()) === 0, 30000, 'every body cached');
      for await (const m of client.fetch('1:*', { uid: true, size: true, source: true })) {
        assert.equal(m.size, first.get(m.uid), `the size of ${m.uid} did not change`);
        assert.equal(m.source!.length, m.size, `the bytes of ${m.uid} are as long as announced`);
      }
    } finally {
      await client.logout();
    }
  });
});
