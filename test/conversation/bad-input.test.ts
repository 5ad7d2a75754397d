// A battery of malformed input on one connection while another keeps working: every
// line gets a BAD/NO with a useful text, nothing crashes, nothing hangs.
import assert from 'node:assert/strict';
import net from 'node:net';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

describe('bad input', function () {
  let server: TestServer;
  let creds: { user: string; password: string };
  before(async () => {
    server = await startTestServer();
    creds = await server.addUser();
  });
  after(async () => server?.stop());

  async function loggedIn(): Promise<RawClient> {
    const c = await RawClient.connect(server.port);
    await c.command('l', `LOGIN ${creds.user} ${creds.password}`);
    return c;
  }

  it('answers each malformed command with BAD or NO while another connection works', async () => {
    const bad = await loggedIn();
    const good = await loggedIn();
    const cases: Array<[string, RegExp]> = [
      ['b1 FROB', /^b1 BAD Unknown command/m],
      ['b2 SELECT', /^b2 BAD/m],
      ['b3 SELECT INBOX extra', /^b3 BAD/m],
      ['b4 LIST "" (', /^b4 BAD/m],
      ['b5 CREATE "unterminated', /^b5 BAD/m],
      // Invalid modified UTF-7: a name that cannot exist (NO, as Dovecot and imaptest expect).
      ['b6 SELECT &Jjo', /^b6 NO/m],
      ['b7 CREATE &AGEAYQ-', /^b7 NO \[CANNOT\].*UTF-7/m],
      ['b7b RENAME Archive &Jjo', /^b7b NO \[CANNOT\].*UTF-7/m],
      ['b8 FETCH 1 FLAGS', /^b8 BAD.*not allowed/m],
      ['b9 LOGIN a b', /^b9 BAD.*not allowed/m],
      ['b10 STORE 1 FLAGS', /^b10 BAD.*not allowed/m],
      ['b11 APPEND INBOX', /^b11 BAD/m],
      ['b12 CREATE "a*b"', /^b12 NO/m],
      ['b12b CREATE a*b', /^b12b BAD/m],
      ['b13 ENABLE', /^b13 BAD/m],
      ['b14 RENAME INBOX', /^b14 BAD/m],
    ];
    for (const [line, expected] of cases) {
      const r = await bad.command(line.split(' ')[0], line.split(' ').slice(1).join(' '));
      assert.match(r, expected, `for ${line}`);
      assert.match(await good.command('g', 'NOOP'), /^g OK/m);
    }
    await bad.command('s', 'SELECT INBOX');
    const selectedCases: Array<[string, RegExp]> = [
      ['c1 FETCH 1:* (FLAGS', /^c1 BAD/m],
      ['c2 STORE 0 +FLAGS (\\Seen)', /^c2 BAD/m],
      ['c3 STORE 1:x +FLAGS (\\Seen)', /^c3 BAD/m],
      ['c4 COPY 99 Archive', /^c4 BAD/m],
      ['c5 UID STORE 1 FLOGS (\\Seen)', /^c5 BAD/m],
      ['c6 UID FROB 1', /^c6 BAD Unknown command/m],
    ];
    for (const [line, expected] of selectedCases) {
      const tag = line.split(' ')[0];
      const r = await bad.command(tag, line.slice(tag.length + 1));
      assert.match(r, expected, `for ${line}`);
    }
    // Garbage bytes, a tagless line and an empty line.
    bad.write(Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x0d, 0x0a]));
    bad.write('\r\n');
    const after = await bad.command('z', 'NOOP');
    assert.match(after, /^\* BAD/m);
    assert.match(after, /^z OK/m);
    bad.close();
    good.close();
  });

  it('refuses an over-long line and a too-large literal, then goes on', async () => {
    const c = await loggedIn();
    c.write(`x1 NOOP ${'a'.repeat(70 * 1024)}\r\n`);
    assert.match(await c.untilTagged('x1'), /^x1 BAD \[TOOBIG\]/m);
    c.write('x2 APPEND INBOX {999999999999}\r\n');
    assert.match(await c.untilTagged('x2'), /^x2 NO \[TOOBIG\]/m);
    assert.match(await c.command('x3', 'NOOP'), /^x3 OK/m);
    c.close();
  });

  it('survives a client that disconnects in the middle of a literal', async () => {
    const s = net.connect(server.port, '127.0.0.1');
    await new Promise((resolve) => s.once('data', resolve));
    s.write(`a LOGIN ${creds.user} ${creds.password}\r\nb APPEND INBOX {100000+}\r\npartial data`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    s.destroy();
    const c = await loggedIn();
    const r = await c.command('s', 'SELECT INBOX');
    assert.match(r, /^s OK/m);
    c.close();
  });

  it('logged no unexpected server errors', () => {
    const log = server.memgate.log as unknown as { errors: unknown[] };
    assert.deepEqual(log.errors, []);
  });
});
