// Tokens for Microsoft Graph from the Microsoft identity platform (v2.0 endpoints):
// app-only (client credentials with a secret, or a certificate: assertion.ts) for a tenant
// admin, or delegated through the device-code flow for one person, kept alive with refresh
// tokens. Access tokens are renewed before they expire; a rotated refresh token is saved
// (encrypted, by the engine) before it is used; a revoked grant is an 'auth' error: the
// account needs new credentials.
import { AdapterError } from '../contract';
import { CLIENT_ASSERTION_TYPE, clientAssertion } from './assertion';
import type { GraphSettings } from './mapping';

/** Renew this long before the access token expires. */
const RENEW_BEFORE_MS = 5 * 60 * 1000;

export interface TokenEndpointAnswer {
  access_token?: string;
  refresh_token?: string;
  expires_in?: number;
  error?: string;
  error_description?: string;
  error_codes?: number[];
}

export type HttpPost = (url: string, form: Record<string, string>) => Promise<{ status: number; body: TokenEndpointAnswer & Record<string, unknown> }>;

export function tokenUrl(s: GraphSettings, endpoint: 'token' | 'devicecode'): string {
  return `${s.loginUrl.replace(/\/$/, '')}/${encodeURIComponent(s.tenant)}/oauth2/v2.0/${endpoint}`;
}

/** Delegated scopes: mail read/write, sending, and offline_access for a refresh token. */
export const DELEGATED_SCOPE = 'offline_access https://graph.microsoft.com/Mail.ReadWrite https://graph.microsoft.com/Mail.Send';

export class TokenSource {
  private token: { value: string; expiresAt: number } | null = null;
  private pending: Promise<string> | null = null;

  constructor(
    private readonly settings: GraphSettings,
    private credentials: Record<string, string>,
    private readonly post: HttpPost,
    private readonly save?: (credentials: Record<string, string>) => Promise<void>,
  ) {}

  /** A valid access token (renewed when close to expiry; concurrent callers share one renewal). */
  get(): Promise<string> {
    if (this.token && this.token.expiresAt - RENEW_BEFORE_MS > Date.now()) return Promise.resolve(this.token.value);
    this.pending ??= this.renew().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  /** Graph rejected the token (expired early, revoked): the next get() renews. */
  invalidate(): void {
    this.token = null;
  }

  private async renew(): Promise<string> {
    const s = this.settings;
    let form: Record<string, string>;
    if (s.auth === 'app') {
      const { clientSecret, certificatePem, privateKeyPem } = this.credentials;
      form = { grant_type: 'client_credentials', client_id: s.clientId, scope: `${graphResource(s)}/.default` };
      if (certificatePem && privateKeyPem) {
        form.client_assertion_type = CLIENT_ASSERTION_TYPE;
        form.client_assertion = clientAssertion({ certificatePem, privateKeyPem }, s.clientId, tokenUrl(s, 'token'));
      } else if (clientSecret) form.client_secret = clientSecret;
      else throw new AdapterError('auth', 'needs new credentials: no client secret or certificate stored');
    } else {
      const refresh = this.credentials.refreshToken;
      if (!refresh) throw new AdapterError('auth', 'needs new credentials: no refresh token stored (sign in again with the device code)');
      form = { grant_type: 'refresh_token', client_id: s.clientId, refresh_token: refresh, scope: this.credentials.scope ?? DELEGATED_SCOPE };
      if (this.credentials.clientSecret) form.client_secret = this.credentials.clientSecret;
    }
    let answer: Awaited<ReturnType<HttpPost>>;
    try {
      answer = await this.post(tokenUrl(s, 'token'), form);
    } catch (err) {
      throw new AdapterError('unavailable', `the login service is unreachable: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    const body = answer.body;
    if (answer.status !== 200 || typeof body.access_token !== 'string') {
      const code = body.error ?? `HTTP ${answer.status}`;
      const why = (body.error_description ?? '').split(/\r?\n/)[0].replace(/ Trace ID:.*$/, '');
      if (answer.status >= 500 || answer.status === 429) throw new AdapterError('unavailable', `the login service answered ${code}`);
      throw new AdapterError('auth', `the sign-in was refused (${code}${why ? `: ${why}` : ''}); add the account again to sign in anew`);
    }
    if (typeof body.refresh_token === 'string' && body.refresh_token !== this.credentials.refreshToken && s.auth !== 'app') {
      // Rotation: the old refresh token may already be dead; keep the new one first.
      this.credentials = { ...this.credentials, refreshToken: body.refresh_token };
      await this.save?.(this.credentials);
    }
    this.token = { value: body.access_token, expiresAt: Date.now() + Number(body.expires_in ?? 3600) * 1000 };
    return body.access_token;
  }
}

/** The resource identifier for app-only scopes (`{resource}/.default`). */
function graphResource(s: GraphSettings): string {
  return s.scopeResource ?? 'https://graph.microsoft.com';
}

export interface DeviceCodePrompt {
  userCode: string;
  verificationUri: string;
  message: string;
  expiresIn: number;
}

/**
 * The device-code flow (RFC 8628 as Microsoft implements it): shows the code and URL, then
 * polls the token endpoint until the person approved it. Returns the refresh token.
 */
export async function deviceCodeSignIn(
  settings: GraphSettings,
  post: HttpPost,
  show: (prompt: DeviceCodePrompt) => void,
  opts: { scope?: string; /** Overrides the interval the service asks for (tests). */ intervalMs?: number } = {},
): Promise<{ refreshToken: string; scope: string }> {
  const scope = opts.scope ?? DELEGATED_SCOPE;
  const start = await post(tokenUrl(settings, 'devicecode'), { client_id: settings.clientId, scope });
  const b = start.body as Record<string, unknown>;
  if (start.status !== 200 || typeof b.device_code !== 'string') {
    throw new AdapterError('auth', `the device-code sign-in could not start: ${String(b.error ?? start.status)} ${String(b.error_description ?? '')}`.trim());
  }
  show({ userCode: String(b.user_code), verificationUri: String(b.verification_uri), message: String(b.message ?? ''), expiresIn: Number(b.expires_in ?? 900) });
  let interval = opts.intervalMs ?? Number(b.interval ?? 5) * 1000;
  const deadline = Date.now() + Number(b.expires_in ?? 900) * 1000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, interval));
    const answer = await post(tokenUrl(settings, 'token'), {
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      client_id: settings.clientId,
      device_code: b.device_code,
    });
    if (answer.status === 200 && typeof answer.body.refresh_token === 'string') return { refreshToken: answer.body.refresh_token, scope };
    const error = answer.body.error;
    if (error === 'authorization_pending') continue;
    if (error === 'slow_down') {
      interval += 5000;
      continue;
    }
    throw new AdapterError('auth', `the device-code sign-in failed: ${String(error ?? answer.status)}`);
  }
  throw new AdapterError('auth', 'the device code expired before it was approved');
}
