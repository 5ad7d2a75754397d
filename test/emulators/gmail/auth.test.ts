// The OAuth endpoints with google-auth-library's OAuth2Client (authorization code with PKCE,
// refresh, revoke, tokeninfo), the device flow and the service-account JWT bearer grant over
// plain HTTP, and how the API answers missing, expired, revoked and under-scoped tokens.

import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { google } from 'googleapis';
import { DEFAULT_CLIENT } from './state';
import { failure, oauthClient, useHarness, USER } from './helpers';

const form = (url: string, fields: Record<string, string>) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(fields) });

function signJwt(privateKeyPem: string, claims: Record<string, unknown>): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${enc({ alg: 'RS256', typ: 'JWT' })}.${enc(claims)}`;
  return `${input}.${crypto.sign('RSA-SHA256', Buffer.from(input), privateKeyPem).toString('base64url')}`;
}

describe('gmail emulator: OAuth and tokens', () => {
  const h = useHarness({ users: [USER, 'bob@corp.example'] });

  it('authorization code with PKCE, then API calls, refresh and revoke', async () => {
    const client = oauthClient(h.emu);
    const { codeVerifier, codeChallenge } = await client.generateCodeVerifierAsync();
    const authUrl = client.generateAuthUrl({
      access_type: 'offline',
      scope: ['https://www.googleapis.com/auth/gmail.modify'],
      state: 'xyz',
      login_hint: USER,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256' as never,
    });
    assert.ok(authUrl.startsWith(h.emu.authUrl));
    const consent = await fetch(authUrl, { redirect: 'manual' });
    assert.equal(consent.status, 302);
    const back = new URL(consent.headers.get('location')!);
    assert.equal(back.origin + back.pathname, 'http://127.0.0.1:1/callback');
    assert.equal(back.searchParams.get('state'), 'xyz');
    const { tokens } = await client.getToken({ code: back.searchParams.get('code')!, codeVerifier });
    assert.match(tokens.access_token!, /^ya29\./);
    assert.ok(tokens.refresh_token);
    client.setCredentials(tokens);

    const gmail = google.gmail({ version: 'v1', auth: client, rootUrl: h.emu.rootUrl, retry: false });
    assert.equal((await gmail.users.getProfile({ userId: 'me' })).data.emailAddress, USER);
    const info = await client.getTokenInfo(tokens.access_token!);
    assert.deepEqual(info.scopes, ['https://www.googleapis.com/auth/gmail.modify']);
    assert.equal(info.email, USER);

    // A used code does not work twice; a wrong verifier does not work at all.
    assert.equal((await failure(client.getToken({ code: back.searchParams.get('code')!, codeVerifier }))).status, 400);

    const refreshed = await client.refreshAccessToken();
    assert.notEqual(refreshed.credentials.access_token, tokens.access_token);

    await client.revokeToken(tokens.refresh_token!);
    client.setCredentials({ refresh_token: tokens.refresh_token });
    const revoked = await failure(client.refreshAccessToken());
    assert.equal(revoked.status, 400);
    assert.deepEqual(revoked.body, { error: 'invalid_grant', error_description: 'Token has been expired or revoked.' });
  });

  it('gmail.modify cannot delete for good (that needs https://mail.google.com/)', async () => {
    const t = h.emu.state.tokensFor(USER, 'https://www.googleapis.com/auth/gmail.modify');
    const client = oauthClient(h.emu);
    client.setCredentials({ access_token: t.access_token });
    const gmail = google.gmail({ version: 'v1', auth: client, rootUrl: h.emu.rootUrl, retry: false });
    const m = h.emu.state.deliver(USER, 'Subject: x\r\n\r\ny\r\n');
    const denied = await failure(gmail.users.messages.delete({ userId: 'me', id: m.id }));
    assert.equal(denied.status, 403);
    assert.equal(denied.reason, 'insufficientPermissions');
    assert.equal((await gmail.users.messages.trash({ userId: 'me', id: m.id })).status, 200);
  });

  it('401 without a token and with an expired one; the client refreshes and goes on', async () => {
    const anonymous = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/profile`);
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { error: { errors: { reason: string }[] } }).error.errors[0]!.reason, 'required');

    h.emu.faults.expireTokens(USER);
    // The client knows no expiry_date, so on 401 it refreshes once and retries.
    assert.equal((await h.gmail.users.getProfile({ userId: 'me' })).data.emailAddress, USER);
    assert.deepEqual(
      h.emu.state.requests.slice(-3).map((r) => `${r.path} ${r.status}`),
      ['/gmail/v1/users/me/profile 401', '/token 200', '/gmail/v1/users/me/profile 200'],
    );
  });

  it('an expired token that the client still believes valid: 401 authError, then forceRefreshOnFailure recovers', async () => {
    const t = h.emu.state.tokensFor(USER);
    const client = oauthClient(h.emu);
    client.setCredentials({ access_token: t.access_token, refresh_token: t.refresh_token, expiry_date: Date.now() + 3600_000 });
    const gmail = google.gmail({ version: 'v1', auth: client, rootUrl: h.emu.rootUrl, retry: false });
    h.emu.faults.expireTokens();
    const e = await failure(gmail.users.getProfile({ userId: 'me' }));
    assert.equal(e.status, 401);
    assert.equal(e.reason, 'authError');

    const forcing = oauthClient(h.emu, { forceRefreshOnFailure: true });
    forcing.setCredentials({ access_token: t.access_token, refresh_token: t.refresh_token, expiry_date: Date.now() + 3600_000 });
    const ok = await google.gmail({ version: 'v1', auth: forcing, rootUrl: h.emu.rootUrl, retry: false }).users.getProfile({ userId: 'me' });
    assert.equal(ok.data.emailAddress, USER);
  });

  it('a revoked grant: 401 on calls, invalid_grant on refresh', async () => {
    h.emu.faults.revokeGrant(USER);
    const e = await failure(h.gmail.users.getProfile({ userId: 'me' }));
    assert.equal(e.status, 400);
    assert.match(JSON.stringify(e.body), /invalid_grant/);
    const raw = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${(h.auth.credentials.access_token as string)}` } });
    assert.equal(raw.status, 401);
  });

  it('device flow: pending (428), slow_down, approval, tokens', async () => {
    h.emu.state.auth.deviceInterval = 0;
    const start = await form(h.emu.deviceCodeUrl, { client_id: DEFAULT_CLIENT.clientId, scope: 'https://mail.google.com/' });
    assert.equal(start.status, 200);
    const dc = (await start.json()) as { device_code: string; user_code: string; verification_url: string; interval: number; expires_in: number };
    assert.match(dc.user_code, /^[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}$/);
    const poll = () =>
      form(h.emu.tokenUrl, {
        client_id: DEFAULT_CLIENT.clientId,
        client_secret: DEFAULT_CLIENT.clientSecret,
        device_code: dc.device_code,
        grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      });
    const pending = await poll();
    assert.equal(pending.status, 428);
    assert.equal(((await pending.json()) as { error: string }).error, 'authorization_pending');
    h.emu.state.auth.deviceInterval = 5;
    const slow = await poll();
    assert.equal(slow.status, 403);
    assert.equal(((await slow.json()) as { error: string }).error, 'slow_down');
    const approve = await fetch(`${dc.verification_url}?user_code=${dc.user_code}&email=${encodeURIComponent(USER)}`);
    assert.equal(approve.status, 200);
    const done = await poll();
    assert.equal(done.status, 200);
    const tokens = (await done.json()) as { access_token: string; refresh_token: string; expires_in: number; token_type: string };
    assert.equal(tokens.token_type, 'Bearer');
    assert.ok(tokens.refresh_token);
    const profile = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(((await profile.json()) as { emailAddress: string }).emailAddress, USER);
  });

  it('service account JWT bearer grant with domain-wide delegation', async () => {
    const key = h.emu.state.auth.addServiceAccount('gateway@memgate-test.iam.gserviceaccount.com', ['corp.example']);
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: key.client_email, sub: 'bob@corp.example', scope: 'https://mail.google.com/', aud: key.token_uri, iat: now, exp: now + 3600 };
    const grant = (assertion: string) => form(h.emu.tokenUrl, { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    const res = await grant(signJwt(key.private_key, claims));
    assert.equal(res.status, 200);
    const { access_token } = (await res.json()) as { access_token: string };
    const profile = await fetch(`${h.emu.rootUrl}gmail/v1/users/me/profile`, { headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(((await profile.json()) as { emailAddress: string }).emailAddress, 'bob@corp.example');

    const outside = await grant(signJwt(key.private_key, { ...claims, sub: USER }));
    assert.equal(outside.status, 401);
    assert.equal(((await outside.json()) as { error: string }).error, 'unauthorized_client');
    const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    assert.equal((await grant(signJwt(other, claims))).status, 400);
    assert.equal((await grant(signJwt(key.private_key, { ...claims, exp: now + 7200 }))).status, 400);
    assert.equal((await grant(signJwt(key.private_key, { ...claims, aud: 'https://example.com/token' }))).status, 400);
  });

  it('token endpoint faults: 500 then fine', async () => {
    h.emu.faults.failNext('oauth.token', 500);
    const body = { client_id: DEFAULT_CLIENT.clientId, client_secret: DEFAULT_CLIENT.clientSecret, grant_type: 'refresh_token', refresh_token: h.auth.credentials.refresh_token! };
    assert.equal((await form(h.emu.tokenUrl, body)).status, 500);
    assert.equal((await form(h.emu.tokenUrl, body)).status, 200);
    assert.equal((await form(h.emu.tokenUrl, { ...body, client_secret: 'wrong' })).status, 401);
    assert.equal((await form(h.emu.tokenUrl, { ...body, grant_type: 'password' })).status, 400);
  });
});
