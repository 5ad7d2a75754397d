// Graph emulator, login endpoints and token checks: client credentials (secret or certificate
// assertion), the device-code flow, refresh with rotation, expired and revoked tokens, and the
// client library's rule that the Authorization header goes only to hosts listed in customHosts.
import assert from 'node:assert/strict';
import { constants, createHash, randomUUID, sign, X509Certificate } from 'node:crypto';
import type * as MicrosoftGraph from '@microsoft/microsoft-graph-types';
import selfsigned from 'selfsigned';
import { graphClient, graphError, postForm } from './helpers';
import { DEFAULT_CLIENT, GraphEmulator, startGraphEmulator } from './server';
import { Mailbox } from './state';

const SCOPE = 'https://graph.microsoft.com/Mail.ReadWrite offline_access';

async function appCertificate(): Promise<{ cert: string; key: string }> {
  const p = await selfsigned.generate([{ name: 'commonName', value: 'memgate-app' }], { keySize: 2048, algorithm: 'sha256' });
  return { cert: p.cert, key: p.private };
}

/** A PS256 client assertion (x5t#S256) signed with `signer`'s key, naming `named` (default: its own certificate). */
function signedJwt(signer: { cert: string; key: string }, claims: Record<string, unknown>, named = signer.cert): string {
  const b64 = (v: unknown): string => Buffer.from(JSON.stringify(v)).toString('base64url');
  const header = { alg: 'PS256', typ: 'JWT', 'x5t#S256': createHash('sha256').update(new X509Certificate(named).raw).digest('base64url') };
  const input = `${b64(header)}.${b64(claims)}`;
  const sig = sign('sha256', Buffer.from(input), { key: signer.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
  return `${input}.${sig.toString('base64url')}`;
}

describe('graph emulator: login and tokens', function () {
  let emu: GraphEmulator;
  let alice: Mailbox;
  let tokenPath: string;
  beforeEach(async () => {
    emu = await startGraphEmulator({ mailboxes: ['alice@contoso.com'] });
    alice = emu.state.mailbox('alice@contoso.com') as Mailbox;
    tokenPath = `/${emu.state.tenantId}/oauth2/v2.0/token`;
  });
  afterEach(async () => emu?.stop());

  it('client credentials: a token for any mailbox by /users, not for /me; a wrong secret is invalid_client', async () => {
    const ok = await postForm(emu, tokenPath, { grant_type: 'client_credentials', client_id: DEFAULT_CLIENT.clientId, client_secret: DEFAULT_CLIENT.clientSecret, scope: 'https://graph.microsoft.com/.default' });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.token_type, 'Bearer');
    assert.equal(ok.body.expires_in, 3599);
    assert.equal(ok.body.refresh_token, undefined);
    const client = graphClient(emu, ok.body.access_token as string);
    const inbox = (await client.api('/users/alice@contoso.com/mailFolders/inbox').get()) as MicrosoftGraph.MailFolder;
    assert.equal(inbox.id, alice.wellKnown('inbox').id);
    assert.equal((await graphError(client.api('/me/mailFolders').get())).statusCode, 400);

    const wrong = await postForm(emu, tokenPath, { grant_type: 'client_credentials', client_id: DEFAULT_CLIENT.clientId, client_secret: 'nope', scope: 'https://graph.microsoft.com/.default' });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, 'invalid_client');
    assert.match(wrong.body.error_description as string, /^AADSTS7000215:/);
    const scope = await postForm(emu, tokenPath, { grant_type: 'client_credentials', client_id: DEFAULT_CLIENT.clientId, client_secret: DEFAULT_CLIENT.clientSecret, scope: 'Mail.Read' });
    assert.equal(scope.body.error, 'invalid_scope');
    const tenant = await postForm(emu, '/not-a-tenant/oauth2/v2.0/token', { grant_type: 'client_credentials' });
    assert.equal(tenant.status, 400);
    const grant = await postForm(emu, tokenPath, { grant_type: 'password', client_id: DEFAULT_CLIENT.clientId });
    assert.equal(grant.body.error, 'unsupported_grant_type');
  });

  it('device code: pending until the user approves, then tokens for /me with a refresh token', async () => {
    const dc = await postForm(emu, `/organizations/oauth2/v2.0/devicecode`, { client_id: DEFAULT_CLIENT.clientId, scope: SCOPE });
    assert.equal(dc.status, 200);
    assert.match(dc.body.verification_uri as string, /\/devicelogin$/);
    assert.match(dc.body.message as string, new RegExp(dc.body.user_code as string));
    const poll = (): Promise<{ status: number; body: Record<string, unknown> }> =>
      postForm(emu, tokenPath, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: DEFAULT_CLIENT.clientId, device_code: dc.body.device_code as string });
    const pending = await poll();
    assert.equal(pending.status, 400);
    assert.equal(pending.body.error, 'authorization_pending');
    // The user opens the verification page and approves (what a person does in a browser).
    const page = await fetch(`${dc.body.verification_uri as string}?user_code=${dc.body.user_code as string}&user=alice@contoso.com`, { dispatcher: new (await import('undici')).Agent({ connect: { ca: emu.ca } }) } as RequestInit);
    assert.equal(page.status, 200);
    const done = await poll();
    assert.equal(done.status, 200);
    assert.ok(done.body.refresh_token);
    const me = graphClient(emu, done.body.access_token as string);
    const user = (await me.api('/me').get()) as MicrosoftGraph.User;
    assert.equal(user.mail, 'alice@contoso.com');
    const used = await poll();
    assert.equal(used.body.error, 'invalid_grant');
  });

  it('refresh tokens rotate: the new one works, the old one is invalid_grant', async () => {
    const dc = await postForm(emu, `/${emu.state.tenantId}/oauth2/v2.0/devicecode`, { client_id: DEFAULT_CLIENT.clientId, scope: SCOPE });
    assert.ok(emu.auth.approveDeviceCode(dc.body.user_code as string, alice));
    const first = await postForm(emu, tokenPath, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: DEFAULT_CLIENT.clientId, device_code: dc.body.device_code as string });
    const rt1 = first.body.refresh_token as string;
    const second = await postForm(emu, tokenPath, { grant_type: 'refresh_token', client_id: DEFAULT_CLIENT.clientId, refresh_token: rt1, scope: SCOPE });
    assert.equal(second.status, 200);
    const rt2 = second.body.refresh_token as string;
    assert.notEqual(rt2, rt1);
    assert.notEqual(second.body.access_token, first.body.access_token);
    const reused = await postForm(emu, tokenPath, { grant_type: 'refresh_token', client_id: DEFAULT_CLIENT.clientId, refresh_token: rt1, scope: SCOPE });
    assert.equal(reused.body.error, 'invalid_grant');
    const third = await postForm(emu, tokenPath, { grant_type: 'refresh_token', client_id: DEFAULT_CLIENT.clientId, refresh_token: rt2, scope: SCOPE });
    assert.equal(third.status, 200);
  });

  it('expired and revoked tokens: 401 InvalidAuthenticationToken, and invalid_grant on refresh', async () => {
    const dc = await postForm(emu, `/common/oauth2/v2.0/devicecode`, { client_id: DEFAULT_CLIENT.clientId, scope: SCOPE });
    emu.auth.approveDeviceCode(dc.body.user_code as string, alice);
    const t = await postForm(emu, tokenPath, { grant_type: 'urn:ietf:params:oauth:grant-type:device_code', client_id: DEFAULT_CLIENT.clientId, device_code: dc.body.device_code as string });
    const me = graphClient(emu, t.body.access_token as string);
    await me.api('/me/mailFolders/inbox').get();
    emu.faults.expireAccessTokens();
    const expired = await graphError(me.api('/me/mailFolders/inbox').get());
    assert.equal(expired.statusCode, 401);
    assert.equal(expired.code, 'InvalidAuthenticationToken');
    const refreshed = await postForm(emu, tokenPath, { grant_type: 'refresh_token', client_id: DEFAULT_CLIENT.clientId, refresh_token: t.body.refresh_token as string });
    assert.equal(refreshed.status, 200);
    const me2 = graphClient(emu, refreshed.body.access_token as string);
    await me2.api('/me/mailFolders/inbox').get();

    emu.faults.revokeGrants();
    const revoked = await graphError(me2.api('/me/mailFolders/inbox').get());
    assert.equal(revoked.statusCode, 401);
    const again = await postForm(emu, tokenPath, { grant_type: 'refresh_token', client_id: DEFAULT_CLIENT.clientId, refresh_token: refreshed.body.refresh_token as string });
    assert.equal(again.body.error, 'invalid_grant');
    assert.match(again.body.error_description as string, /^AADSTS50173:/);
  });

  it('client credentials with a certificate: a client assertion checked against the registered certificate', async () => {
    const [registered, other] = await Promise.all([appCertificate(), appCertificate()]);
    emu.auth.addCertificate(DEFAULT_CLIENT.clientId, registered.cert);
    const audience = `${emu.loginUrl}${tokenPath}`;
    const now = Math.floor(Date.now() / 1000);
    const claims = { aud: audience, iss: DEFAULT_CLIENT.clientId, sub: DEFAULT_CLIENT.clientId, jti: randomUUID(), nbf: now, exp: now + 600 };
    const ask = (assertion: string) =>
      postForm(emu, tokenPath, {
        grant_type: 'client_credentials',
        client_id: DEFAULT_CLIENT.clientId,
        scope: 'https://graph.microsoft.com/.default',
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      });
    const ok = await ask(signedJwt(registered, claims));
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(((await graphClient(emu, ok.body.access_token as string).api('/users/alice@contoso.com').get()) as MicrosoftGraph.User).mail, 'alice@contoso.com');
    const code = async (assertion: string): Promise<string> => {
      const r = await ask(assertion);
      assert.equal(r.body.error, 'invalid_client');
      return /^AADSTS(\d+):/.exec(r.body.error_description as string)?.[1] ?? '';
    };
    assert.equal(await code(signedJwt(other, claims)), '700027', 'a certificate not registered with the app');
    assert.equal(await code(signedJwt(other, claims, registered.cert)), '700027', 'signed with another key');
    assert.equal(await code(signedJwt(registered, { ...claims, aud: 'https://login.example/token' })), '50013');
    assert.equal(await code(signedJwt(registered, { ...claims, iss: 'someone-else' })), '700021');
    assert.equal(await code(signedJwt(registered, { ...claims, nbf: now - 7200, exp: now - 3600 })), '700024');
    assert.equal(await code('not.a-jwt'), '50027');
  });

  it('a missing or unknown token is 401; without customHosts the client sends no token at all', async () => {
    const unknown = await graphError(graphClient(emu, 'not-a-token').api('/users/alice@contoso.com').get());
    assert.equal(unknown.statusCode, 401);
    const bare = graphClient(emu, emu.auth.issueToken(), { customHosts: new Set(['graph.example.invalid']) });
    const none = await graphError(bare.api('/users/alice@contoso.com').get());
    assert.equal(none.statusCode, 401);
    assert.match(none.message, /empty/);
  });
});
