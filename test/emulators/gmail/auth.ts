// Google's OAuth 2.0 endpoints as an installed app, a device and a service account see them:
// the consent page (answered at once, as the configured user), the token endpoint
// (authorization_code with PKCE, refresh_token, device_code, jwt-bearer), device/code,
// revoke and tokeninfo. Error bodies follow Google's OAuth format ({error, error_description})
// and status codes (device flow: 428 authorization_pending, 403 slow_down / access_denied).

import crypto from 'node:crypto';
import { ApiError } from './errors';

export const FULL_SCOPE = 'https://mail.google.com/';
const GOOGLE_TOKEN_AUDIENCES = ['https://oauth2.googleapis.com/token', 'https://accounts.google.com/o/oauth2/token'];

export interface OAuthClient {
  clientId: string;
  clientSecret: string;
}

export interface ServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id: string;
  client_id: string;
  token_uri: string;
}

/** Domain-wide delegation as a Workspace admin grants it: the domains' users, these scopes. */
export interface Delegation {
  domains: string[];
  scopes: string[];
}

interface Grant {
  clientId: string;
  email: string;
  scope: string;
  revoked: boolean;
}

interface AccessToken {
  grant: Grant;
  expiresAt: number;
}

interface DeviceAuthorization {
  clientId: string;
  userCode: string;
  scope: string;
  expiresAt: number;
  lastPoll: number;
  email?: string;
  denied?: boolean;
}

export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    readonly description: string,
  ) {
    super(description);
  }
}

const token = (prefix: string): string => prefix + crypto.randomBytes(24).toString('base64url');

export class AuthServer {
  readonly clients = new Map<string, OAuthClient>();
  private readonly codes = new Map<string, { grant: Grant; redirectUri: string; challenge?: string; method?: string }>();
  private readonly devices = new Map<string, DeviceAuthorization>();
  private readonly refreshTokens = new Map<string, Grant>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly serviceAccounts = new Map<string, { publicKey: crypto.KeyObject; delegation: Delegation }>();
  /** Poll interval the device flow asks for, in seconds. */
  deviceInterval = 5;

  constructor(
    private readonly now: () => number,
    readonly tokenLifetimeSeconds: number,
    private readonly tokenUrl: () => string,
    private readonly userExists: (email: string) => boolean,
  ) {}

  addClient(client: OAuthClient): void {
    this.clients.set(client.clientId, client);
  }

  /** Mints tokens as if the user had consented (for tests and demos). */
  issueTokens(email: string, opts: { scope?: string; clientId?: string } = {}): { access_token: string; refresh_token: string; expires_in: number } {
    const grant: Grant = { clientId: opts.clientId ?? [...this.clients.keys()][0] ?? 'emulator', email, scope: opts.scope ?? FULL_SCOPE, revoked: false };
    const refresh = token('1//');
    this.refreshTokens.set(refresh, grant);
    return { ...this.mintAccess(grant), refresh_token: refresh };
  }

  private mintAccess(grant: Grant): { access_token: string; expires_in: number; scope: string; token_type: 'Bearer' } {
    const access = token('ya29.');
    this.accessTokens.set(access, { grant, expiresAt: this.now() + this.tokenLifetimeSeconds * 1000 });
    return { access_token: access, expires_in: this.tokenLifetimeSeconds, scope: grant.scope, token_type: 'Bearer' };
  }

  /** Every access token (of one user, or all) expires now; refresh tokens still work. */
  expireAccessTokens(email?: string): void {
    for (const t of this.accessTokens.values()) if (email === undefined || t.grant.email === email) t.expiresAt = 0;
  }

  /** The user revoked access: refresh answers invalid_grant, access tokens 401. */
  revokeGrants(email: string): void {
    for (const g of this.refreshTokens.values()) if (g.email === email) g.revoked = true;
    for (const t of this.accessTokens.values()) if (t.grant.email === email) t.grant.revoked = true;
  }

  /** The user behind a Bearer token, or an ApiError(401) as Google answers it. */
  authenticate(bearer: string | undefined): { email: string; scopes: string[] } {
    if (!bearer) {
      throw new ApiError(
        401,
        'Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        'required',
        'global',
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' },
      );
    }
    const t = this.accessTokens.get(bearer);
    if (!t || t.grant.revoked || t.expiresAt <= this.now()) {
      throw new ApiError(
        401,
        'Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.',
        'authError',
        'global',
        { 'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
      );
    }
    return { email: t.grant.email, scopes: t.grant.scope.split(/\s+/) };
  }

  /** The consent step of the authorization-code flow: the user agrees at once. */
  authorize(params: URLSearchParams, consentingUser: string | undefined): URL {
    const redirect = params.get('redirect_uri');
    const client = this.clients.get(params.get('client_id') ?? '');
    if (!redirect || !client) throw new OAuthError(400, 'invalid_request', 'Missing or unknown client_id / redirect_uri');
    const url = new URL(redirect);
    const state = params.get('state');
    if (state !== null) url.searchParams.set('state', state);
    const hint = params.get('login_hint');
    const email = hint && this.userExists(hint) ? hint : consentingUser;
    if (params.get('response_type') !== 'code' || !email) {
      url.searchParams.set('error', email ? 'unsupported_response_type' : 'access_denied');
      return url;
    }
    const code = token('4/');
    const scope = params.get('scope') ?? FULL_SCOPE;
    this.codes.set(code, {
      grant: { clientId: client.clientId, email, scope, revoked: false },
      redirectUri: redirect,
      challenge: params.get('code_challenge') ?? undefined,
      method: params.get('code_challenge_method') ?? undefined,
    });
    url.searchParams.set('code', code);
    url.searchParams.set('scope', scope);
    return url;
  }

  deviceCode(form: URLSearchParams, verificationUrl: string): Record<string, unknown> {
    const client = this.requireClient(form, false);
    const deviceCode = token('AH-');
    const userCode = crypto.randomBytes(6).toString('hex').toUpperCase().replace(/(.{4})(.{4})(.{4})/, '$1-$2-$3');
    this.devices.set(deviceCode, { clientId: client.clientId, userCode, scope: form.get('scope') ?? FULL_SCOPE, expiresAt: this.now() + 1800_000, lastPoll: 0 });
    return { device_code: deviceCode, user_code: userCode, expires_in: 1800, interval: this.deviceInterval, verification_url: verificationUrl };
  }

  /** The user typed the code on the verification page and consented (or refused). */
  approveDevice(userCode: string, email: string, approve = true): boolean {
    for (const d of this.devices.values()) {
      if (d.userCode === userCode) {
        if (approve) d.email = email;
        else d.denied = true;
        return true;
      }
    }
    return false;
  }

  revoke(tokenValue: string): void {
    const grant = this.refreshTokens.get(tokenValue) ?? this.accessTokens.get(tokenValue)?.grant;
    if (!grant) throw new OAuthError(400, 'invalid_token', 'Token expired or revoked');
    grant.revoked = true;
  }

  tokenInfo(accessToken: string): Record<string, unknown> {
    const t = this.accessTokens.get(accessToken);
    if (!t || t.grant.revoked || t.expiresAt <= this.now()) throw new OAuthError(400, 'invalid_token', 'Invalid Value');
    return {
      azp: t.grant.clientId,
      aud: t.grant.clientId,
      scope: t.grant.scope,
      exp: String(Math.floor(t.expiresAt / 1000)),
      expires_in: Math.floor((t.expiresAt - this.now()) / 1000),
      email: t.grant.email,
    };
  }

  private requireClient(form: URLSearchParams, withSecret: boolean): OAuthClient {
    const client = this.clients.get(form.get('client_id') ?? '');
    if (!client || (withSecret && form.get('client_secret') !== client.clientSecret)) {
      throw new OAuthError(401, 'invalid_client', 'The OAuth client was not found.');
    }
    return client;
  }

  token(form: URLSearchParams): Record<string, unknown> {
    const grantType = form.get('grant_type');
    switch (grantType) {
      case 'authorization_code': {
        const client = this.requireClient(form, true);
        const code = this.codes.get(form.get('code') ?? '');
        if (!code || code.grant.clientId !== client.clientId) throw new OAuthError(400, 'invalid_grant', 'Malformed auth code.');
        if (code.redirectUri !== form.get('redirect_uri')) throw new OAuthError(400, 'redirect_uri_mismatch', 'Bad Request');
        if (code.challenge !== undefined) {
          const verifier = form.get('code_verifier') ?? '';
          const computed = code.method === 'S256' ? crypto.createHash('sha256').update(verifier).digest('base64url') : verifier;
          if (computed !== code.challenge) throw new OAuthError(400, 'invalid_grant', 'Invalid code verifier.');
        }
        this.codes.delete(form.get('code')!);
        const refresh = token('1//');
        this.refreshTokens.set(refresh, code.grant);
        return { ...this.mintAccess(code.grant), refresh_token: refresh };
      }
      case 'refresh_token': {
        const client = this.requireClient(form, true);
        const grant = this.refreshTokens.get(form.get('refresh_token') ?? '');
        if (!grant || grant.revoked || grant.clientId !== client.clientId) throw new OAuthError(400, 'invalid_grant', 'Token has been expired or revoked.');
        return this.mintAccess(grant);
      }
      case 'urn:ietf:params:oauth:grant-type:device_code': {
        const client = this.requireClient(form, true);
        const d = this.devices.get(form.get('device_code') ?? '');
        if (!d || d.clientId !== client.clientId) throw new OAuthError(400, 'invalid_grant', 'Malformed device code.');
        if (d.expiresAt <= this.now()) throw new OAuthError(400, 'expired_token', 'Expired device code.');
        if (d.denied) throw new OAuthError(403, 'access_denied', 'Forbidden');
        if (!d.email) {
          const tooSoon = this.now() - d.lastPoll < this.deviceInterval * 1000;
          d.lastPoll = this.now();
          if (tooSoon && this.deviceInterval > 0) throw new OAuthError(403, 'slow_down', 'Forbidden');
          throw new OAuthError(428, 'authorization_pending', 'Precondition Required');
        }
        this.devices.delete(form.get('device_code')!);
        const grant: Grant = { clientId: client.clientId, email: d.email, scope: d.scope, revoked: false };
        const refresh = token('1//');
        this.refreshTokens.set(refresh, grant);
        return { ...this.mintAccess(grant), refresh_token: refresh };
      }
      case 'urn:ietf:params:oauth:grant-type:jwt-bearer':
        return this.mintAccess(this.jwtGrant(form.get('assertion') ?? ''));
      default:
        throw new OAuthError(400, 'unsupported_grant_type', 'Invalid grant_type: ' + String(grantType));
    }
  }

  /**
   * A service account key whose public half the emulator trusts; `domains` are those whose
   * users it may impersonate (domain-wide delegation), for `scopes` (default: full mail).
   */
  addServiceAccount(clientEmail: string, domains: string[], scopes: string[] = [FULL_SCOPE]): ServiceAccountKey {
    const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.serviceAccounts.set(clientEmail, { publicKey, delegation: { domains: [...domains], scopes: [...scopes] } });
    return {
      type: 'service_account',
      client_email: clientEmail,
      private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      private_key_id: crypto.randomBytes(20).toString('hex'),
      client_id: String(100000000000000000000n + BigInt(this.serviceAccounts.size)),
      token_uri: this.tokenUrl(),
    };
  }

  /** The admin changes (or, with no domains, withdraws) a service account's delegation. */
  setDelegation(clientEmail: string, delegation: Delegation): void {
    const sa = this.serviceAccounts.get(clientEmail);
    if (!sa) throw new Error(`no service account ${clientEmail} in the Gmail emulator`);
    sa.delegation = { domains: [...delegation.domains], scopes: [...delegation.scopes] };
  }

  /** RFC 7523 JWT bearer grant, checked as Google does: RS256 signed by a known service
   * account's key, audience = the token endpoint, at most one hour of validity, `sub` an
   * existing user inside a delegated domain, every scope asked for delegated. */
  private jwtGrant(assertion: string): Grant {
    const invalid = (d: string): OAuthError => new OAuthError(400, 'invalid_grant', d);
    const parts = assertion.split('.');
    if (parts.length !== 3) throw invalid('Invalid JWT.');
    let header: { alg?: string };
    let claims: { iss?: string; sub?: string; scope?: string; aud?: string; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString()) as typeof header;
      claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString()) as typeof claims;
    } catch {
      throw invalid('Invalid JWT.');
    }
    const sa = this.serviceAccounts.get(claims.iss ?? '');
    if (header.alg !== 'RS256' || !sa) throw invalid('Invalid JWT Signature.');
    const ok = crypto.verify('RSA-SHA256', Buffer.from(`${parts[0]}.${parts[1]}`), sa.publicKey, Buffer.from(parts[2]!, 'base64url'));
    if (!ok) throw invalid('Invalid JWT Signature.');
    const nowS = Math.floor(this.now() / 1000);
    if (![this.tokenUrl(), ...GOOGLE_TOKEN_AUDIENCES].includes(claims.aud ?? '')) throw invalid('Invalid JWT: audience.');
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number' || claims.exp <= nowS || claims.iat > nowS + 300 || claims.exp - claims.iat > 3600) {
      throw invalid('Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.');
    }
    if (!claims.scope) throw invalid('Invalid JWT: scope missing.');
    const email = claims.sub ?? claims.iss!;
    if (claims.sub !== undefined) {
      const domain = claims.sub.split('@')[1]?.toLowerCase() ?? '';
      const delegated = sa.delegation.domains.some((d) => d.toLowerCase() === domain);
      const scopes = claims.scope.split(/\s+/).filter((x) => x !== '');
      if (!delegated || !scopes.every((x) => sa.delegation.scopes.includes(x))) {
        throw new OAuthError(401, 'unauthorized_client', 'Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.');
      }
      if (!this.userExists(claims.sub)) throw invalid('Invalid email or User ID');
    }
    return { clientId: claims.iss!, email, scope: claims.scope, revoked: false };
  }
}
