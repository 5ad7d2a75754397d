// The POP3 adapter on its own: byte-exact RETR, duplicate UIDLs, and each failure mapped to
// the AdapterError kind the sync engine acts on. Faults come from the scriptable server.
import assert from 'node:assert/strict';
import { AdapterError, type BackendAdapter } from '../../adapters/contract';
import { createPop3Adapter, POP3_FOLDER } from '../../adapters/pop3';
import { dotUnstuff } from '../../adapters/pop3/client';
import { FakePop3 } from '../support/fake-pop3';
import { requireDovecot, startDovecot } from '../support/dovecot';

function adapter(port: number, password = 'pop-pass', extra: Record<string, unknown> = {}): BackendAdapter {
  return createPop3Adapter({
    id: 't',
    settings: { host: '127.0.0.1', port, security: 'none', timeoutMs: 500, ...extra },
    credentials: { username: 'pop', password },
  });
}

async function failure(work: Promise<unknown>): Promise<AdapterError> {
  try {
    await work;
  } catch (err) {
    assert.ok(err instanceof AdapterError, `expected an AdapterError, got ${String(err)}`);
    return err;
  }
  throw new Error('expected a failure');
}

async function listAndFetch(a: BackendAdapter): Promise<Map<string, Buffer>> {
  const session = await a.connect();
  const changes = await session.changes(POP3_FOLDER, null);
  assert.equal(changes.kind, 'snapshot');
  const out = new Map<string, Buffer>();
  if (changes.kind === 'snapshot') {
    await session.fetchRaw(POP3_FOLDER, changes.messages.map((m) => m.id), async (id, raw) => {
      out.set(id, raw);
    });
  }
  await session.close();
  return out;
}

describe('POP3 adapter', function () {
  this.timeout(20000);
  let fake: FakePop3;

  beforeEach(async () => {
    fake = new FakePop3();
    await fake.start();
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('undoes dot-stuffing only at line starts', () => {
    assert.deepEqual(dotUnstuff(Buffer.from('..a\r\nb.\r\n...c\r\n')), Buffer.from('.a\r\nb.\r\n..c\r\n'));
    assert.deepEqual(dotUnstuff(Buffer.from('')), Buffer.from(''));
  });

  it('fetches byte-exact 8-bit messages, pipelined or not, and tells duplicate UIDLs apart', async () => {
    const eight = Buffer.concat([Buffer.from('Subject: x\r\n\r\n'), Buffer.from([0xe4, 0xf6, 0xfc, 0x0d, 0x0a]), Buffer.from('.dot\r\n.\r\n')]);
    fake.add('u1', eight);
    fake.add('dup', 'Subject: one\r\n\r\nA\r\n');
    fake.add('dup', 'Subject: two\r\n\r\nB\r\n');
    fake.add('dup', 'Subject: one\r\n\r\nA\r\n');
    for (const pipelining of [true, false]) {
      fake.faults.pipelining = pipelining;
      const got = await listAndFetch(adapter(fake.port));
      assert.equal(got.size, 4, 'four distinct ids');
      assert.deepEqual(got.get('u1'), eight);
      const dupIds = [...got.keys()].filter((id) => id.startsWith('dup '));
      assert.equal(dupIds.length, 3);
      assert.equal(new Set(dupIds.map((id) => got.get(id)!.toString())).size, 2);
    }
    // Ids are stable from one session to the next.
    const a = [...(await listAndFetch(adapter(fake.port))).keys()];
    const b = [...(await listAndFetch(adapter(fake.port))).keys()];
    assert.deepEqual(a, b);
  });

  it('fetches multi-megabyte messages byte-exact, with dots and CRLFs across chunk boundaries, pipelined', async () => {
    // Lines of varied lengths, many starting with a dot: the terminator search and the
    // unstuffing meet chunk seams at every possible offset.
    const lines: string[] = ['Subject: big', ''];
    for (let i = 0, length = 0; length < 6 * 1024 * 1024; i++) {
      lines.push((i % 3 === 0 ? '.' : '') + 'y'.repeat(i % 997));
      length += lines[lines.length - 1].length + 2;
    }
    const big = Buffer.from(lines.join('\r\n') + '\r\n');
    fake.add('big1', big);
    fake.add('small', 'Subject: s\r\n\r\n.\r\n');
    fake.add('big2', Buffer.concat([big, Buffer.from('.\r\n')]));
    const got = await listAndFetch(adapter(fake.port, 'pop-pass', { timeoutMs: 10000 }));
    assert.ok(got.get('big1')!.equals(big));
    assert.equal(got.get('small')!.toString(), 'Subject: s\r\n\r\n.\r\n');
    assert.ok(got.get('big2')!.equals(Buffer.concat([big, Buffer.from('.\r\n')])));
  });

  it('refuses a server without UIDL with a clear error on probe', async () => {
    fake.faults.noUidl = true;
    const err = await failure(adapter(fake.port).probe());
    assert.equal(err.kind, 'unsupported');
    assert.match(err.message, /UIDL/);
  });

  it('maps a wrong password to auth, [IN-USE] to in-use, LOGIN-DELAY to a retry-after', async () => {
    assert.equal((await failure(adapter(fake.port, 'wrong').connect())).kind, 'auth');
    fake.faults.inUse = true;
    fake.faults.loginDelay = 120;
    const inUse = await failure(adapter(fake.port).connect());
    assert.equal(inUse.kind, 'in-use');
    assert.equal(inUse.retryAfterSeconds, 120);
  });

  it('maps a server that is down, stalls or drops the connection mid-RETR to unavailable', async () => {
    fake.add('u1', 'Subject: a\r\n\r\n' + 'x'.repeat(5000) + '\r\n');
    fake.faults.dropMidRetr = 1;
    const dropped = await failure(listAndFetch(adapter(fake.port)));
    assert.equal(dropped.kind, 'unavailable');
    fake.faults.stallRetr = true;
    const stalled = await failure(listAndFetch(adapter(fake.port)));
    assert.equal(stalled.kind, 'unavailable');
    assert.match(stalled.message, /stalled/);
    fake.faults.stallRetr = false;
    fake.faults.stallGreeting = true;
    assert.equal((await failure(adapter(fake.port).connect())).kind, 'unavailable');
    const port = fake.port;
    await fake.stop();
    assert.equal((await failure(adapter(port).connect())).kind, 'unavailable');
    await fake.start();
  });

  it('works against Dovecot POP3 (UIDL, LIST sizes equal RETR sizes)', async function () {
    requireDovecot(this);
    const dovecot = await startDovecot({ users: { pop: 'pop-pass' } });
    try {
      await dovecot.deliver('pop', 'Subject: lf only\nX: y\n\nbody\n.dot\n');
      await dovecot.deliver('pop', Buffer.from('Subject: crlf\r\n\r\n\xff\xfe\r\n', 'latin1'));
      const a = adapter(dovecot.pop3Port, 'pop-pass', { timeoutMs: 5000 });
      const session = await a.connect();
      const changes = await session.changes(POP3_FOLDER, null);
      assert.ok(changes.kind === 'snapshot');
      const sizes = new Map(changes.messages.map((m) => [m.id, m.size]));
      let n = 0;
      const bodies = new Map<string, Buffer>();
      await session.fetchRaw(POP3_FOLDER, [...sizes.keys()], async (id, raw) => {
        n++;
        bodies.set(id, raw);
        assert.equal(raw.length, sizes.get(id), 'RFC822.SIZE announced before the body must match it');
      });
      // Dovecot's TOP n 0 is how its RETR begins, through the blank line (header-first fetching).
      const headers = new Map<string, Buffer>();
      await session.fetchHeaders!(POP3_FOLDER, [...sizes.keys()], async (id, header) => {
        headers.set(id, header);
      });
      await session.close();
      assert.equal(n, 2);
      for (const [id, header] of headers) {
        assert.ok(bodies.get(id)!.subarray(0, header.length).equals(header));
        assert.ok(header.toString('latin1').endsWith('\r\n\r\n'));
      }
      assert.equal(headers.size, 2);
    } finally {
      await dovecot.stop();
    }
  });
});
