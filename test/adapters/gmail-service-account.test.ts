// A Workspace user through a service account with domain-wide delegation: googleapis' JWT
// client signs the JWT bearer grant (sub = the user) and the emulator's token endpoint
// checks the RS256 signature against the registered key, the delegated domain and scopes.
// A good key syncs; a wrong key, a user outside the delegation or a narrower delegated
// scope are auth errors that say what to do; a withdrawn delegation is noticed on the next
// token refresh.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { GmailAdapter } from '../../adapters/gmail';
import { parseServiceAccountKey } from '../../adapters/gmail/service-account';
import type { ServiceAccountKey } from '../emulators/gmail/auth';
import { startGmailEmulator, type GmailEmulator } from '../emulators/gmail/server';
import { adapterError, mime } from '../support/gmail';

const SA = 'gateway@memgate-test.iam.gserviceaccount.com';
const USER = 'carol@corp.example';

function adapterFor(emu: GmailEmulator, key: ServiceAccountKey, address = USER): GmailAdapter {
  const parsed = parseServiceAccountKey(JSON.stringify(key));
  return new GmailAdapter({
    id: 'sa',
    settings: { address, serviceAccountEmail: parsed.clientEmail, clientId: parsed.clientId, apiRootUrl: emu.rootUrl, tokenUrl: parsed.tokenUri!, backoffBaseMs: 10, backoffMaxMs: 50 },
    credentials: { privateKey: parsed.privateKey, privateKeyId: parsed.privateKeyId },
  });
}

describe('Gmail adapter: service account with domain-wide delegation', function () {
  this.timeout(20000);
  let emu: GmailEmulator;
  let key: ServiceAccountKey;

  beforeEach(async () => {
    emu = await startGmailEmulator({ users: [USER, 'dave@other.example'] });
    key = emu.state.auth.addServiceAccount(SA, ['corp.example']);
  });
  afterEach(async () => {
    await emu.stop();
    assert.deepEqual(emu.state.violations, []);
  });

  const tokenGrants = (): string[] => emu.state.requests.filter((r) => r.path === '/token').map((r) => String(r.status));

  it('a delegated key acts as the user: JWT bearer grant, then the API as that user', async () => {
    const m = emu.state.deliver(USER, mime({ subject: 'for carol' }));
    const adapter = adapterFor(emu, key);
    await adapter.probe();
    const session = await adapter.connect();
    const snap = await session.changes('INBOX', null);
    assert.deepEqual(snap.kind === 'snapshot' ? snap.messages.map((x) => x.id) : null, [m.id]);
    session.abort();
    assert.deepEqual(tokenGrants(), ['200'], 'one token, obtained with the JWT bearer grant');
    assert.equal(adapter.client.auth.credentials.refresh_token, 'jwt-placeholder', 'no refresh token: the key is the credential');
  });

  it('a wrong key (not the registered one) is an auth error: needs new credentials', async () => {
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const err = await adapterError(adapterFor(emu, { ...key, private_key: other }).connect());
    assert.equal(err.kind, 'auth');
    assert.match(err.message, /Invalid JWT Signature/);
    assert.match(err.message, /needs new credentials/);
  });

  it('a user outside the delegated domains, or a scope not delegated, is an auth error naming domain-wide delegation', async () => {
    const outside = await adapterError(adapterFor(emu, key, 'dave@other.example').connect());
    assert.equal(outside.kind, 'auth');
    assert.match(outside.message, /may not act as dave@other.example/);
    assert.match(outside.message, /domain-wide delegation for https:\/\/mail.google.com\//);

    emu.state.auth.setDelegation(SA, { domains: ['corp.example'], scopes: ['https://www.googleapis.com/auth/gmail.readonly'] });
    const narrow = await adapterError(adapterFor(emu, key).connect());
    assert.equal(narrow.kind, 'auth');
    assert.match(narrow.message, /domain-wide delegation/);

    emu.state.auth.setDelegation(SA, { domains: ['corp.example'], scopes: ['https://mail.google.com/'] });
    const unknown = await adapterError(adapterFor(emu, key, 'nobody@corp.example').connect());
    assert.equal(unknown.kind, 'auth');
    assert.match(unknown.message, /Invalid email or User ID/);
  });

  it('a token the server dropped early is renewed; a delegation withdrawn later is noticed on renewal', async () => {
    const adapter = adapterFor(emu, key);
    const session = await adapter.connect();
    await session.listFolders();
    emu.faults.expireTokens(USER);
    assert.ok((await session.listFolders()).length > 0, 'renewed with the key and went on');
    assert.deepEqual(tokenGrants(), ['200', '200']);
    emu.state.auth.setDelegation(SA, { domains: [], scopes: [] });
    emu.faults.expireTokens(USER);
    const err = await adapterError(session.listFolders());
    assert.equal(err.kind, 'auth');
    assert.match(err.message, /domain-wide delegation/);
    session.abort();
  });

  it('refuses key files that are not service account keys, with the reason', () => {
    assert.throws(() => parseServiceAccountKey('{"type":"authorized_user"}'), /not a service account key/);
    assert.throws(() => parseServiceAccountKey('not json'), /not JSON/);
    assert.throws(() => parseServiceAccountKey(JSON.stringify({ ...key, private_key: 'garbage' })), /not an RSA private key/);
    assert.throws(() => parseServiceAccountKey(JSON.stringify({ ...key, client_email: undefined })), /no client_email/);
  });
});
