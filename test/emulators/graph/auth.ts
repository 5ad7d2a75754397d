// The Microsoft identity platform endpoints Graph clients use (v2.0):
//   POST /{tenant}/oauth2/v2.0/token       client_credentials, device_code, refresh_token
//   POST /{tenant}/oauth2/v2.0/devicecode  starts the device-code flow
//   GET  /devicelogin?user_code=..&user=.. where the "user" approves a device code (demos)
// and the check of the Bearer token on every Graph request. Client credentials are a secret or
// a certificate (a client assertion, checked in assertion.ts). Tokens are opaque strings; refresh
// tokens rotate (each use returns a new one and retires the old one, stricter than Entra ID,
// so that a client that forgets to store the new one finds out).
import { randomBytes, randomUUID } from 'node:crypto';
import { CLIENT_ASSERTION_TYPE, checkAssertion } from './assertion';
import { EmuRequest, EmuResponse, GraphError, json, text } from './http';
import { EmulatorState, Mailbox } from './state';

export type Principal = { kind: 'app'; clientId: string } | { kind: 'user'; clientId: string; mailbox: Mailbox };

export interface ClientApp {
  clientId: string;
  /** Confidential clients have a secret; public clients (device code) need none. */
  clientSecret?: string;
}

interface AccessToken {
  principal: Principal;
  expiresAt: number;
  revoked: boolean;
}

interface RefreshGrant {
  clientId: string;
  mailbox: Mailbox;
  scope: string;
  valid: boolean;
}

interface DeviceGrant {
  clientId: string;
  userCode: string;
  scope: string;
  expiresAt: number;
  status: 'pending' | 'approved' | 'declined';
  mailbox?: Mailbox;
}

export interface AuthOptions {
  clients: ClientApp[];
  accessTokenLifetimeSeconds: number;
  deviceCodeLifetimeSeconds: number;
}

const token = (): string => `EwB${randomBytes(48).toString('base64url')}`;

function oauthError(status: number, error: string, aadsts: number, description: string): EmuResponse {
  return json(status, {
    error,
    error_description: `AADSTS${aadsts}: ${description} Trace ID: ${randomUUID()} Correlation ID: ${randomUUID()} Timestamp: ${new Date().toISOString()}`,
    error_codes: [aadsts],
    timestamp: new Date().toISOString(),
    trace_id: randomUUID(),
    correlation_id: randomUUID(),
  });
}

export class Auth {
  private readonly clients = new Map<string, ClientApp>();
  private readonly accessTokens = new Map<string, AccessToken>();
  private readonly refreshGrants = new Map<string, RefreshGrant>();
  private readonly deviceGrants = new Map<string, DeviceGrant>();
  /** Certificate credentials (PEM) by app: client assertions signed with their keys. */
  private readonly certificates = new Map<string, string[]>();
  /** Requests to the token endpoint, by grant type, for assertions. */
  readonly grantsServed: Record<string, number> = {};

  constructor(
    private readonly state: EmulatorState,
    private readonly opts: AuthOptions,
  ) {
    for (const c of opts.clients) this.clients.set(c.clientId, c);
  }

  /** Uploads a certificate (PEM) as a credential of the app, as in the app registration. */
  addCertificate(clientId: string, certificatePem: string): void {
    if (!this.clients.has(clientId)) throw new Error(`no app ${clientId}`);
    this.certificates.set(clientId, [...(this.certificates.get(clientId) ?? []), certificatePem]);
  }

  /** An access token without going through a login (app-only, or delegated for a mailbox). */
  issueToken(mailbox?: Mailbox, clientId = this.opts.clients[0].clientId): string {
    const t = token();
    const principal: Principal = mailbox === undefined ? { kind: 'app', clientId } : { kind: 'user', clientId, mailbox };
    this.accessTokens.set(t, { principal, expiresAt: Date.now() + this.opts.accessTokenLifetimeSeconds * 1000, revoked: false });
    return t;
  }

  expireAll(): void {
    for (const t of this.accessTokens.values()) t.expiresAt = Math.min(t.expiresAt, Date.now() - 1);
  }

  revokeAll(alsoAccessTokens: boolean): void {
    for (const g of this.refreshGrants.values()) g.valid = false;
    for (const d of this.deviceGrants.values()) d.status = 'declined';
    if (alsoAccessTokens) for (const t of this.accessTokens.values()) t.revoked = true;
  }

  /** The user signs in on the verification page and approves the code (or declines it). */
  approveDeviceCode(userCode: string, mailbox: Mailbox, approve = true): boolean {
    for (const g of this.deviceGrants.values()) {
      if (g.userCode === userCode.toUpperCase() && g.status === 'pending') {
        g.status = approve ? 'approved' : 'declined';
        g.mailbox = mailbox;
        return true;
      }
    }
    return false;
  }

  /** The Graph-side check: who is calling, or 401 InvalidAuthenticationToken. */
  authenticate(req: EmuRequest): Principal {
    const header = req.headers['authorization'] ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(header);
    const challenge = { 'WWW-Authenticate': 'Bearer realm="", authorization_uri="/common/oauth2/authorize", error="invalid_token"' };
    if (m === null) throw new GraphError(401, 'InvalidAuthenticationToken', 'Access token is empty.', challenge);
    const t = this.accessTokens.get(m[1]);
    if (t === undefined) throw new GraphError(401, 'InvalidAuthenticationToken', 'IDX14100: JWT is not well formed, there are no dots (.).', challenge);
    if (t.revoked) throw new GraphError(401, 'InvalidAuthenticationToken', 'Continuous access evaluation resulted in challenge: the grant was revoked.', challenge);
    if (t.expiresAt <= Date.now()) throw new GraphError(401, 'InvalidAuthenticationToken', 'Lifetime validation failed, the token is expired.', challenge);
    return t.principal;
  }

  private tenantKnown(tenant: string): boolean {
    const lower = tenant.toLowerCase();
    if (lower === this.state.tenantId || lower === 'common' || lower === 'organizations') return true;
    return [...this.state.mailboxes.values()].some((mb) => mb.address.toLowerCase().endsWith(`@${lower}`));
  }

  /** Routes /{tenant}/oauth2/v2.0/{token|devicecode} and /devicelogin; undefined if not ours. */
  handle(req: EmuRequest): EmuResponse | undefined {
    if (req.path === '/devicelogin') return this.deviceLoginPage(req);
    const m = /^\/([^/]+)\/oauth2\/v2\.0\/(token|devicecode)$/.exec(req.path);
    if (m === null) return undefined;
    if (req.method !== 'POST') return oauthError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
    if (!this.tenantKnown(decodeURIComponent(m[1]))) return oauthError(400, 'invalid_tenant', 90002, `Tenant '${m[1]}' not found.`);
    const form = new URLSearchParams(req.body.toString('utf8'));
    return m[2] === 'devicecode' ? this.deviceCode(req, form) : this.token(form, `${req.origin}${req.path}`);
  }

  private deviceCode(req: EmuRequest, form: URLSearchParams): EmuResponse {
    const clientId = form.get('client_id') ?? '';
    if (!this.clients.has(clientId)) return oauthError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    const userCode = randomBytes(6).toString('base64url').toUpperCase().replace(/[^A-Z0-9]/g, 'X').slice(0, 9);
    const deviceCode = token();
    const expiresIn = this.opts.deviceCodeLifetimeSeconds;
    this.deviceGrants.set(deviceCode, { clientId, userCode, scope: form.get('scope') ?? '', expiresAt: Date.now() + expiresIn * 1000, status: 'pending' });
    const verificationUri = `${req.origin}/devicelogin`;
    return json(200, {
      user_code: userCode,
      device_code: deviceCode,
      verification_uri: verificationUri,
      expires_in: expiresIn,
      interval: 5,
      message: `To sign in, use a web browser to open the page ${verificationUri} and enter the code ${userCode} to authenticate.`,
    });
  }

  private tokenResponse(principal: Principal, scope: string, refresh: boolean): EmuResponse {
    const access = token();
    const lifetime = this.opts.accessTokenLifetimeSeconds;
    this.accessTokens.set(access, { principal, expiresAt: Date.now() + lifetime * 1000, revoked: false });
    const body: Record<string, unknown> = { token_type: 'Bearer', scope, expires_in: lifetime, ext_expires_in: lifetime, access_token: access };
    if (refresh && principal.kind === 'user') {
      const rt = token();
      this.refreshGrants.set(rt, { clientId: principal.clientId, mailbox: principal.mailbox, scope, valid: true });
      body.refresh_token = rt;
    }
    return json(200, body);
  }

  /** `endpoint`: this token endpoint's URL, the audience a client assertion must name. */
  private token(form: URLSearchParams, endpoint: string): EmuResponse {
    const grant = form.get('grant_type') ?? '';
    this.grantsServed[grant] = (this.grantsServed[grant] ?? 0) + 1;
    const clientId = form.get('client_id') ?? '';
    const client = this.clients.get(clientId);
    if (client === undefined) return oauthError(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory.`);
    const scope = form.get('scope') ?? '';
    switch (grant) {
      case 'client_credentials': {
        const assertion = form.get('client_assertion');
        if (assertion !== null || form.has('client_assertion_type')) {
          if (form.get('client_assertion_type') !== CLIENT_ASSERTION_TYPE || assertion === null) {
            return oauthError(400, 'invalid_request', 90014, "The request body must contain the following parameter: 'client_assertion' with 'client_assertion_type' urn:ietf:params:oauth:client-assertion-type:jwt-bearer.");
          }
          const refused = checkAssertion(assertion, clientId, endpoint, this.certificates.get(clientId) ?? []);
          if (refused !== null) return oauthError(refused.error === 'invalid_client' ? 401 : 400, refused.error, refused.aadsts, refused.description);
        } else if (client.clientSecret === undefined || form.get('client_secret') !== client.clientSecret) {
          return oauthError(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
        }
        if (!/\/\.default$/.test(scope)) return oauthError(400, 'invalid_scope', 1002012, 'The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier.');
        return this.tokenResponse({ kind: 'app', clientId }, scope, false);
      }
      case 'urn:ietf:params:oauth:grant-type:device_code': {
        const code = form.get('device_code') ?? '';
        const g = this.deviceGrants.get(code);
        if (g === undefined || g.clientId !== clientId) return oauthError(400, 'invalid_grant', 70000, 'Provided grant is invalid or malformed.');
        if (g.expiresAt <= Date.now()) return oauthError(400, 'expired_token', 70020, 'The provided value for the input parameter device_code is not valid. This device code has expired.');
        if (g.status === 'pending') return oauthError(400, 'authorization_pending', 70016, 'OAuth 2.0 device flow error. Authorization is pending. Continue polling.');
        if (g.status === 'declined' || g.mailbox === undefined) return oauthError(400, 'authorization_declined', 70000, 'The user declined the authorization request.');
        this.deviceGrants.delete(code);
        return this.tokenResponse({ kind: 'user', clientId, mailbox: g.mailbox }, g.scope || scope, /offline_access/.test(g.scope || scope));
      }
      case 'refresh_token': {
        const rt = form.get('refresh_token') ?? '';
        const g = this.refreshGrants.get(rt);
        if (g === undefined || g.clientId !== clientId) return oauthError(400, 'invalid_grant', 9002313, 'Invalid request. Request is malformed or invalid.');
        if (!g.valid) {
          return oauthError(400, 'invalid_grant', 50173, 'The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password.');
        }
        g.valid = false; // rotation: the old refresh token is used up
        return this.tokenResponse({ kind: 'user', clientId, mailbox: g.mailbox }, scope || g.scope, true);
      }
      default:
        return oauthError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
    }
  }

  private deviceLoginPage(req: EmuRequest): EmuResponse {
    const code = req.query.get('user_code');
    const user = req.query.get('user');
    if (code === null || user === null) {
      return text(200, '<html><body><form method="get"><p>Code <input name="user_code"></p><p>Mailbox <input name="user"></p><button>Approve</button></form></body></html>', 'text/html');
    }
    const mb = this.state.mailbox(user);
    if (mb === undefined) return text(404, `No mailbox ${user}.`);
    return this.approveDeviceCode(code, mb) ? text(200, `Signed in as ${mb.address}. You can close this page.`) : text(400, 'Unknown or used code.');
  }
}
