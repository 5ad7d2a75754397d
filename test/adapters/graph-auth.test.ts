// Graph sign-in (issue 4): `memgate account add <user> graph --device-code` through the real
// CLI (prints the code and URL, waits for approval, saves the refresh token encrypted), a
// wrong client secret saves nothing, app-only sign-in with a certificate (client assertion), rotated refresh tokens are stored, and a revoked grant
// puts the account in "needs new credentials" until new credentials are stored (then it recovers, UIDs kept).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import selfsigned from 'selfsigned';
import { deviceCodeSignIn, graphSettings } from '../../adapters/graph';
import { GraphApi } from '../../adapters/graph/client';
import { decryptCredentials, encryptCredentials, loadMasterKey } from '../../src/sync/credentials';
import { mime } from '../emulators/graph/helpers';
import { DEFAULT_CLIENT } from '../emulators/graph/server';
import { eventually } from '../sync/helpers';
import { graphHarnessForSuite, shadow } from './graph-helpers';

const CLI = path.resolve(__dirname, '..', '..', 'src', 'cli', 'index.js');

function cli(args: string[], env: Record<string, string>, stdin?: string): { out: () => string; done: Promise<{ code: number | null; out: string; err: string }> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, MEMGATE_LOG_LEVEL: 'warn', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(stdin ?? '');
  return { out: () => out, done: new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err }))) };
}

describe('Graph sign-in', function () {
  this.timeout(60000);
  const h = graphHarnessForSuite();

  it('account add --device-code prints the code and URL, waits, saves the refresh token encrypted; a wrong secret saves nothing', async () => {
    const mb = h.emu.state.addMailbox('dana@contoso.com');
    await h.server.memgate.store.createUser('dana', 'imap-pass');
    const caFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'graph-ca-')), 'ca.pem');
    fs.writeFileSync(caFile, h.emu.ca);
    const env = { DATABASE_URL: h.server.databaseUrl, MEMGATE_DATA_DIR: h.server.dataDir, MEMGATE_MASTER_KEY: loadMasterKey(h.server.dataDir).key.toString('hex') };
    const common = ['--mailbox', 'dana@contoso.com', '--tenant', 'contoso.com', '--client-id', DEFAULT_CLIENT.clientId, '--graph-url', h.emu.baseUrl, '--login-url', h.emu.loginUrl, '--ca-file', caFile];

    const wrong = await cli(['account', 'add', 'dana', 'graph', ...common, '--client-secret-stdin'], env, 'not-the-secret\n').done;
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.err, /cannot use this Graph mailbox \(auth: .*invalid_client/);

    const run = cli(['account', 'add', 'dana', 'graph', ...common, '--device-code', '--poll-interval', '2s'], env);
    let code: string | undefined;
    await eventually(() => (code = /code: (\S+)/.exec(run.out())?.[1]), 10000, 'the code printed');
    assert.match(run.out(), new RegExp(`url:  ${h.emu.loginUrl}/devicelogin`));
    assert.equal(h.emu.auth.approveDeviceCode(code!, mb), true);
    const r = await run.done;
    assert.equal(r.code, 0, r.err);
    const [row] = await h.server.memgate.database.dataSource.query(`SELECT a.settings, a.credentials FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.name = 'dana'`);
    assert.equal(row.settings.auth, 'device');
    const creds = decryptCredentials(loadMasterKey(h.server.dataDir).key, row.credentials);
    assert.ok(creds.refreshToken, 'refresh token stored');
    assert.ok(!Buffer.from(row.credentials).toString('latin1').includes(creds.refreshToken), 'not in the clear');
  });

  it('account add --certificate: the registered certificate signs in and syncs; an unregistered one or a foreign key is refused, nothing saved', async () => {
    const mb = h.emu.state.addMailbox('cora@contoso.com');
    h.emu.state.deliver(mb, mime('hello cora'));
    await h.server.memgate.store.createUser('cora', 'imap-pass');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'graph-cert-'));
    const [registered, other] = await Promise.all([1, 2].map(() => selfsigned.generate([{ name: 'commonName', value: 'memgate' }], { keySize: 2048, algorithm: 'sha256' })));
    h.emu.auth.addCertificate(DEFAULT_CLIENT.clientId, registered.cert);
    const file = (name: string, text: string): string => (fs.writeFileSync(path.join(dir, name), text), path.join(dir, name));
    const good = file('app.pem', `${registered.private}${registered.cert}`);
    const unregistered = file('other.pem', `${other.cert}${other.private}`);
    const foreignKey = file('foreign-key.pem', other.private);
    const caFile = file('ca.pem', h.emu.ca);
    const env = { DATABASE_URL: h.server.databaseUrl, MEMGATE_DATA_DIR: h.server.dataDir, MEMGATE_MASTER_KEY: loadMasterKey(h.server.dataDir).key.toString('hex') };
    const common = ['account', 'add', 'cora', 'graph', '--mailbox', 'cora@contoso.com', '--tenant', 'contoso.com', '--client-id', DEFAULT_CLIENT.clientId, '--graph-url', h.emu.baseUrl, '--login-url', h.emu.loginUrl, '--ca-file', caFile, '--poll-interval', '1s'];
    const accounts = async (): Promise<Array<{ id: string; settings: Record<string, unknown>; credentials: Buffer }>> =>
      h.server.memgate.database.dataSource.query(`SELECT a.id, a.settings, a.credentials FROM accounts a JOIN users u ON u.id = a.user_id WHERE u.name = 'cora' AND a.kind = 'graph'`);

    const refused = await cli([...common, '--certificate', unregistered], env).done;
    assert.notEqual(refused.code, 0);
    assert.match(refused.err, /cannot use this Graph mailbox \(auth: .*invalid_client: AADSTS700027: The certificate with identifier used to sign the client assertion is not registered/);
    const mismatched = await cli([...common, '--certificate', good, '--certificate-key', foreignKey], env).done;
    assert.notEqual(mismatched.code, 0);
    assert.match(mismatched.err, /the private key does not belong to the certificate/);
    assert.equal((await accounts()).length, 0, 'nothing saved');

    const served = h.emu.auth.grantsServed.client_credentials ?? 0;
    const ok = await cli([...common, '--certificate', good], env).done;
    assert.equal(ok.code, 0, ok.err);
    const [row] = await accounts();
    assert.equal(row.settings.auth, 'app');
    const creds = decryptCredentials(loadMasterKey(h.server.dataDir).key, row.credentials);
    assert.match(creds.certificatePem, /BEGIN CERTIFICATE/);
    assert.match(creds.privateKeyPem, /BEGIN PRIVATE KEY/);
    assert.equal(creds.clientSecret, undefined);
    assert.ok(!Buffer.from(row.credentials).toString('latin1').includes('PRIVATE KEY'), 'the key is not stored in the clear');
    const user = await h.server.memgate.database.dataSource.query(`SELECT id FROM users WHERE name = 'cora'`);
    await eventually(async () => (await shadow(h, { userId: user[0].id } as Parameters<typeof shadow>[1], 'INBOX')).length === 1, 20000, 'synced with the certificate');
    assert.ok((h.emu.auth.grantsServed.client_credentials ?? 0) >= served + 2, 'the probe and the sync signed in by assertion');
  });

  it('delegated account: syncs, stores rotated refresh tokens, and a revoked grant needs new credentials', async () => {
    const mb = h.emu.state.addMailbox('erin@contoso.com');
    h.emu.state.deliver(mb, mime('hello erin'));
    const settings = { mailbox: 'erin@contoso.com', tenant: 'contoso.com', clientId: DEFAULT_CLIENT.clientId, auth: 'device', graphUrl: h.emu.baseUrl, loginUrl: h.emu.loginUrl, caPem: h.emu.ca, pollIntervalSeconds: 1 };
    const api = new GraphApi(graphSettings(settings), {}, { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 });
    const signIn = deviceCodeSignIn(graphSettings(settings), api.postForm, (p) => h.emu.auth.approveDeviceCode(p.userCode, mb), { intervalMs: 50 });
    const { refreshToken, scope } = await signIn;
    api.dispose();
    const user = await h.server.memgate.store.createUser('erin', 'imap-pass');
    const key = loadMasterKey(h.server.dataDir).key;
    const { accountId } = await h.server.sync.addAccount({ userName: 'erin', kind: 'graph', label: null, settings, credentials: encryptCredentials(key, { refreshToken, scope }) });
    const u = { userId: user.id } as Parameters<typeof shadow>[1];
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 1, 20000, 'synced');
    const stored = async (): Promise<string> => {
      const [row] = await h.server.memgate.database.dataSource.query('SELECT credentials FROM accounts WHERE id = $1', [accountId]);
      return decryptCredentials(key, row.credentials).refreshToken;
    };
    const rotated = await stored();
    assert.notEqual(rotated, refreshToken, 'the rotated refresh token replaced the used one');
    // The next renewal uses the stored one (the emulator refuses a used one).
    h.emu.faults.expireAccessTokens();
    h.emu.state.deliver(mb, mime('after renewal'));
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 2, 20000, 'synced after a renewal');
    assert.notEqual(await stored(), rotated);

    h.emu.faults.revokeGrants(true);
    await eventually(async () => (await h.server.sync.account(accountId))?.state === 'auth', 20000, 'needs new credentials');
    const a = await h.server.sync.account(accountId);
    assert.match(a!.reason ?? '', /needs new credentials: .*invalid_grant/);
    // Meanwhile the cached mail is still there for IMAP.
    const before = await shadow(h, u, 'INBOX');
    assert.equal(before.length, 2);

    // The user signs in again and the new grant replaces the revoked one (what `account add
    // --replace <id>` stores): the running engine signs in with it at its next poll, no
    // restart, and every UID stays.
    const api2 = new GraphApi(graphSettings(settings), {}, { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 });
    const fresh = await deviceCodeSignIn(graphSettings(settings), api2.postForm, (p) => h.emu.auth.approveDeviceCode(p.userCode, mb), { intervalMs: 50 });
    api2.dispose();
    await h.server.sync.replaceAccount({ userName: 'erin', accountId, kind: 'graph', settings, credentials: encryptCredentials(key, { refreshToken: fresh.refreshToken, scope: fresh.scope }) });
    h.emu.state.deliver(mb, mime('after the new grant'));
    await eventually(async () => (await shadow(h, u, 'INBOX')).length === 3, 20000, 'synced with the new grant');
    assert.equal((await h.server.sync.account(accountId))?.state, 'idle');
    assert.deepEqual((await shadow(h, u, 'INBOX')).slice(0, 2).map((m) => m.uid), before.map((m) => m.uid));
  });
});
