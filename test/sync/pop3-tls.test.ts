// POP3 over TLS against Dovecot with a generated certificate (issue 3): STLS (RFC 2595) and
// implicit TLS (pop3s). The certificate is verified: by the system's CAs by default (so a
// self-signed one is refused, with the password never sent), or by what the operator
// configured: the ISP's CA or the certificate itself (--ca-file), the name it carries when
// the server is reached by IP address (--tls-servername), or its pinned fingerprint
// (--tls-fingerprint). --insecure is for tests only.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { AdapterError } from '../../adapters/contract';
import { createPop3Adapter, POP3_FOLDER } from '../../adapters/pop3';
import { openTestStore } from '../support/db';
import { requireDovecot, startDovecot, type DovecotInstance } from '../support/dovecot';
import { eventually, message, startSyncServer, type SyncServer } from './helpers';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'index.js');
const NAME = 'pop.example.test';

function cli(args: string[], env: Record<string, string>, stdin: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MEMGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('exit', (code) => resolve({ code, out, err }));
    child.stdin.end(stdin);
  });
}

describe('POP3 over TLS (Dovecot with a generated certificate)', function () {
  this.timeout(60000);
  let dovecot: DovecotInstance;
  let cert: string;
  let fingerprint: string;

  before(async function () {
    requireDovecot(this);
    // A self-signed certificate for a name only (no IP address): how an ISP's server
    // certificate looks when memgate reaches the server by address.
    const pems = await selfsigned.generate([{ name: 'commonName', value: NAME }], {
      keySize: 2048,
      algorithm: 'sha256',
      notAfterDate: new Date(Date.now() + 24 * 3600 * 1000),
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: NAME }] },
      ],
    });
    cert = pems.cert;
    fingerprint = new X509Certificate(cert).fingerprint256;
    dovecot = await startDovecot({ users: { alice: 'secret' }, tls: { cert, key: pems.private } });
    await dovecot.deliver('alice', message('over tls'));
  });
  after(async () => {
    await dovecot?.stop();
  });

  const adapter = (settings: Record<string, unknown>) =>
    createPop3Adapter({ id: 't', settings: { host: '127.0.0.1', timeoutMs: 5000, ...settings }, credentials: { username: 'alice', password: 'secret' } });

  async function listed(settings: Record<string, unknown>): Promise<number> {
    const session = await adapter(settings).connect();
    const changes = await session.changes(POP3_FOLDER, null);
    await session.close();
    return changes.kind === 'snapshot' ? changes.messages.length : -1;
  }

  async function refused(settings: Record<string, unknown>): Promise<AdapterError> {
    try {
      await adapter(settings).connect();
    } catch (err) {
      assert.ok(err instanceof AdapterError);
      return err;
    }
    throw new Error('the connection was accepted');
  }

  const logins = () => dovecot.log().split('\n').filter((l) => /pop3-login: Info: Login: user=<alice>/.test(l));

  it('STLS and implicit TLS verify the certificate against the CA given, under the name given', async () => {
    const trust = { caPem: cert, tlsServername: NAME };
    assert.equal(await listed({ port: dovecot.pop3Port, security: 'starttls', ...trust }), 1);
    assert.equal(await listed({ port: dovecot.pop3sPort, security: 'tls', ...trust }), 1);
    // Both logins went over TLS (Dovecot marks them).
    assert.ok(logins().slice(-2).every((l) => /\bTLS\b/.test(l)), logins().join('\n'));
  });

  it('refuses what does not verify, before the password is sent, and says how to make it verify', async () => {
    const before = logins().length;
    // The system's CAs do not know a self-signed certificate.
    for (const security of ['starttls', 'tls'] as const) {
      const port = security === 'tls' ? dovecot.pop3sPort : dovecot.pop3Port;
      const err = await refused({ port, security });
      assert.equal(err.kind, 'unavailable');
      assert.match(err.message, /self[- ]signed/i);
      assert.match(err.message, /--ca-file/);
    }
    // Trusted, but reached by an address the certificate does not name.
    const wrongName = await refused({ port: dovecot.pop3Port, security: 'starttls', caPem: cert });
    assert.match(wrongName.message, /IP: 127\.0\.0\.1 is not in the cert's list|does not match/i);
    assert.match((await refused({ port: dovecot.pop3sPort, security: 'tls', caPem: cert, tlsServername: 'other.example.test' })).message, /other\.example\.test/);
    assert.equal(logins().length, before, 'no login was attempted');
  });

  it('accepts exactly the pinned certificate, and no other', async () => {
    assert.equal(await listed({ port: dovecot.pop3sPort, security: 'tls', tlsFingerprint: fingerprint }), 1);
    assert.equal(await listed({ port: dovecot.pop3Port, security: 'starttls', tlsFingerprint: fingerprint.replace(/:/g, '').toLowerCase() }), 1);
    const other = 'AB:'.repeat(31) + 'AB';
    const err = await refused({ port: dovecot.pop3Port, security: 'starttls', tlsFingerprint: other });
    assert.match(err.message, /not the pinned one/);
  });

  it('syncs end to end over STLS', async () => {
    const server: SyncServer = await startSyncServer();
    try {
      const u = await server.memgate.store.createUser('tlsuser', 'imap-pass');
      const accountId = await server.addPop3Account('tlsuser', { host: '127.0.0.1', port: dovecot.pop3Port, username: 'alice', password: 'secret' }, { security: 'starttls', caPem: cert, tlsServername: NAME });
      await eventually(async () => {
        const rows = await server.memgate.database.dataSource.query(
          `SELECT c.raw FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id JOIN message_contents c ON c.id = mm.content_id
            WHERE m.user_id = $1 AND m.name = 'INBOX'`,
          [u.id],
        );
        return rows.length === 1 && rows[0].raw !== null && (await server.sync.account(accountId))?.state === 'idle';
      }, 20000, 'synced over STLS');
    } finally {
      await server.stop();
    }
  });

  it('memgate account add verifies the certificate: refused without trust, saved with --ca-file and --tls-servername', async () => {
    const ts = await openTestStore();
    try {
      await ts.store.createUser('cliuser', 'imap-pass');
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-tls-'));
      const caFile = path.join(dataDir, 'pop-ca.pem');
      fs.writeFileSync(caFile, cert);
      const env = { DATABASE_URL: ts.db.url, MEMGATE_DATA_DIR: dataDir, MEMGATE_MASTER_KEY: randomBytes(32).toString('hex') };
      const base = ['account', 'add', 'cliuser', 'pop3', '--host', '127.0.0.1', '--port', String(dovecot.pop3Port), '--username', 'alice', '--password-stdin', '--starttls'];
      const bad = await cli(base, env, 'secret\n');
      assert.notEqual(bad.code, 0);
      assert.match(bad.err, /self[- ]signed/i);
      assert.match(bad.err, /--ca-file/);
      assert.equal((await ts.db.dataSource.query('SELECT 1 FROM account_sync')).length, 0);
      const good = await cli([...base, '--ca-file', caFile, '--tls-servername', NAME], env, 'secret\n');
      assert.equal(good.code, 0, good.err);
      const [row] = await ts.db.dataSource.query(`SELECT settings FROM accounts WHERE kind = 'pop3'`);
      assert.equal(row.settings.caPem, cert);
      assert.equal(row.settings.tlsServername, NAME);
      assert.equal(row.settings.security, 'starttls');
      const plainWithCa = await cli(['account', 'add', 'cliuser', 'pop3', '--host', '127.0.0.1', '--username', 'alice', '--password-stdin', '--ca-file', caFile], env, 'secret\n');
      assert.match(plainWithCa.err, /need --tls or --starttls/);
    } finally {
      await ts.close();
    }
  });
});
