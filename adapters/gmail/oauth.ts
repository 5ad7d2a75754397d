// OAuth 2.0 for devices (RFC 8628, Google's "TV and limited-input devices" flow): the CLI
// shows a URL and a code, the user consents in any browser, and the CLI polls the token
// endpoint until Google hands out the refresh token. No redirect URI, no local web server.
import { AdapterError } from '../contract';
import { GMAIL_SCOPE } from './client';
import { REAL_CLOCK, type Clock } from './quota';

export interface DeviceFlowOptions {
  clientId: string;
  clientSecret: string;
  deviceCodeUrl: string;
  tokenUrl: string;
  scope?: string;
  /** Tells the user where to go and what to type. */
  prompt(info: { verificationUrl: string; userCode: string; expiresInSeconds: number }): void;
  clock?: Clock;
  signal?: AbortSignal;
}

export interface DeviceFlowTokens {
  refreshToken: string;
  accessToken: string;
  expiresInSeconds: number;
  scope: string;
}

async function postForm(url: string, form: Record<string, string>, signal?: AbortSignal): Promise<{ status: number; body: Record<string, unknown> }> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString(), signal });
  } catch (err) {
    throw new AdapterError('unavailable', `cannot reach ${url}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    throw new AdapterError('protocol', `${url} answered ${res.status} without JSON`);
  }
}

/** Runs the device flow to the end: consent given, refused, or the code expired. */
export async function deviceAuthorization(opts: DeviceFlowOptions): Promise<DeviceFlowTokens> {
  const clock = opts.clock ?? REAL_CLOCK;
  const scope = opts.scope ?? GMAIL_SCOPE;
  const start = await postForm(opts.deviceCodeUrl, { client_id: opts.clientId, scope }, opts.signal);
  const code = start.body;
  if (start.status !== 200 || typeof code.device_code !== 'string' || typeof code.user_code !== 'string') {
    throw new AdapterError('auth', `Google refused the device authorization: ${String(code.error_description ?? code.error ?? start.status)}`);
  }
  const verificationUrl = String(code.verification_url ?? code.verification_uri ?? '');
  const expiresIn = Number(code.expires_in ?? 1800);
  let interval = Math.max(0, Number(code.interval ?? 5));
  opts.prompt({ verificationUrl, userCode: code.user_code, expiresInSeconds: expiresIn });
  const deadline = clock.now() + expiresIn * 1000;
  for (;;) {
    if (clock.now() > deadline) throw new AdapterError('auth', 'the device code expired before consent was given');
    await clock.sleep(interval * 1000, opts.signal);
    const r = await postForm(
      opts.tokenUrl,
      { client_id: opts.clientId, client_secret: opts.clientSecret, device_code: code.device_code, grant_type: 'urn:ietf:params:oauth:grant-type:device_code' },
      opts.signal,
    );
    if (r.status === 200) {
      if (typeof r.body.refresh_token !== 'string' || typeof r.body.access_token !== 'string') {
        throw new AdapterError('protocol', 'the token endpoint answered without a refresh token');
      }
      return { refreshToken: r.body.refresh_token, accessToken: r.body.access_token, expiresInSeconds: Number(r.body.expires_in ?? 0), scope: String(r.body.scope ?? scope) };
    }
    switch (r.body.error) {
      case 'authorization_pending':
        continue;
      case 'slow_down':
        interval += 5;
        continue;
      case 'access_denied':
        throw new AdapterError('auth', 'access was refused on the consent page');
      case 'expired_token':
        throw new AdapterError('auth', 'the device code expired before consent was given');
      default:
        throw new AdapterError('auth', `Google refused the device code: ${String(r.body.error_description ?? r.body.error ?? r.status)}`);
    }
  }
}
