// Greeting, capabilities, authentication and TLS, over real TCP.
import assert from 'node:assert/strict';
import { RawClient } from '../support/raw-client';
import { startTestServer, type TestServer } from '../support/server';

describe('IMAP session basics', function () {
  let server: TestServer;
  let creds: { user: string; password: string };

  before(async function () {
    server = await startTestServer();
    creds = await server.addUser();
  });
  after(async () => server?.stop());

  it('greets with CAPABILITY, IMAP4rev2 and IMAP4rev1, and AUTH=PLAIN on loopback', async () => {
    const c = await RawClient.connect(server.port);
    const caps = await c.command('a', 'CAPABILITY');
    assert.match(caps, /^\* CAPABILITY .*IMAP4rev1/m);
    assert.match(caps, /IMAP4rev2/);
    assert.match(caps, /AUTH=PLAIN/);
    assert.match(caps, /STARTTLS/);
    assert.match(caps, /a OK/);
    c.close();
  });

  it('logs in with LOGIN and answers with capabilities in the tagged OK', async () => {
    const c = await RawClient.connect(server.port);
    const r = await c.command('a', `LOGIN ${creds.user} "${creds.password}"`);
    assert.match(r, /^a OK \[CAPABILITY [^\]]*IMAP4rev2[^\]]*\] LOGIN completed/m);
    assert.doesNotMatch(r, /AUTH=PLAIN/);
    c.close();
  });

  it('rejects a wrong password with AUTHENTICATIONFAILED, after a delay', async () => {
    const c = await RawClient.connect(server.port);
    const started = Date.now();
    const r = await c.command('a', `LOGIN ${creds.user} wrong`);
    assert.match(r, /^a NO \[AUTHENTICATIONFAILED\]/m);
    assert.ok(Date.now() - started >= 400, 'failed login answered too fast');
    const ok = await c.command('b', `LOGIN ${creds.user} "${creds.password}"`);
    assert.match(ok, /^b OK/m);
    c.close();
  });

  it('authenticates with AUTHENTICATE PLAIN and SASL-IR', async () => {
    const c = await RawClient.connect(server.port);
    const ir = Buffer.from(`\0${creds.user}\0${creds.password}`).toString('base64');
    const r = await c.command('a', `AUTHENTICATE PLAIN ${ir}`);
    assert.match(r, /^a OK \[CAPABILITY/m);
    c.close();
  });

  it('authenticates with AUTHENTICATE PLAIN and a continuation', async () => {
    const c = await RawClient.connect(server.port);
    c.write('a AUTHENTICATE PLAIN\r\n');
    assert.equal(await c.readLine(), '+ ');
    c.write(Buffer.from(`\0${creds.user}\0${creds.password}`).toString('base64') + '\r\n');
    const r = await c.untilTagged('a');
    assert.match(r, /^a OK/m);
    c.close();
  });

  it('works over implicit TLS', async () => {
    const c = await RawClient.connect(server.tlsPort, { tls: true });
    const r = await c.command('a', `LOGIN ${creds.user} "${creds.password}"`);
    assert.match(r, /^a OK/m);
    c.close();
  });

  it('answers commands in the wrong state with BAD and unknown ones with BAD', async () => {
    const c = await RawClient.connect(server.port);
    assert.match(await c.command('a', 'SELECT INBOX'), /^a BAD .*not allowed before authentication/m);
    assert.match(await c.command('b', 'FROBNICATE'), /^b BAD Unknown command/m);
    assert.match(await c.command('c', 'NOOP'), /^c OK/m);
    c.close();
  });

  it('LOGOUT says BYE then OK', async () => {
    const c = await RawClient.connect(server.port);
    const r = await c.command('z', 'LOGOUT');
    assert.match(r, /^\* BYE/m);
    assert.match(r, /^z OK/m);
    c.close();
  });
});

describe('IMAP before TLS on a non-loopback connection', function () {
  let server: TestServer;
  let creds: { user: string; password: string };

  before(async function () {
    server = await startTestServer({ loopbackIsSecure: false });
    creds = await server.addUser();
  });
  after(async () => server?.stop());

  it('advertises LOGINDISABLED and no AUTH= before STARTTLS, and refuses LOGIN', async () => {
    const c = await RawClient.connect(server.port);
    const caps = await c.command('a', 'CAPABILITY');
    assert.match(caps, /LOGINDISABLED/);
    assert.doesNotMatch(caps, / AUTH=/); // (URLAUTH=BINARY is not a SASL mechanism)
    assert.match(await c.command('b', `LOGIN ${creds.user} "${creds.password}"`), /^b NO \[PRIVACYREQUIRED\]/m);
    c.close();
  });

  it('after STARTTLS offers AUTH=PLAIN and accepts LOGIN', async () => {
    const c = await RawClient.connect(server.port);
    assert.match(await c.command('a', 'STARTTLS'), /^a OK/m);
    await c.startTls();
    const caps = await c.command('b', 'CAPABILITY');
    assert.match(caps, /AUTH=PLAIN/);
    assert.doesNotMatch(caps, /STARTTLS|LOGINDISABLED/);
    assert.match(await c.command('c', `LOGIN ${creds.user} "${creds.password}"`), /^c OK/m);
    c.close();
  });
});
