// Service accounts with domain-wide delegation (Workspace): the gateway holds a service
// account's key and acts as each user of the domain without a consent per user. Google's
// JWT bearer grant (RFC 7523): an assertion signed RS256 with the key, `sub` = the user,
// `scope` = full mail access, exchanged at the token endpoint for an access token. The JWT
// client of googleapis (google-auth-library) signs and exchanges; its token URL is fixed
// to Google's, so requests for it are sent to the configured token URL instead (the
// assertion's audience stays Google's, which is what Google checks).
import crypto from 'node:crypto';
import { google, type Auth } from 'googleapis';
import { AdapterError } from '../contract';

/** Where google-auth-library sends the JWT bearer grant (gtoken's fixed URL). */
const LIBRARY_TOKEN_URL = 'https://oauth2.googleapis.com/token';

/** What memgate keeps of Google's service-account key file. */
export interface ServiceAccountKey {
  clientEmail: string;
  /** The numeric client id a Workspace admin authorises for domain-wide delegation. */
  clientId: string;
  privateKey: string;
  privateKeyId: string;
  tokenUri: string | null;
}

/**
 * Google's service-account key file (JSON: type "service_account", client_email,
 * private_key in PEM, private_key_id, client_id, token_uri), checked enough that a wrong
 * file is refused with a clear reason before anything is saved.
 */
export function parseServiceAccountKey(text: string): ServiceAccountKey {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('the service account key is not JSON (download it as a JSON key from Google Cloud: IAM > Service accounts > Keys)');
  }
  const k = (json ?? {}) as Record<string, unknown>;
  if (k.type !== 'service_account') throw new Error(`not a service account key (type is ${JSON.stringify(k.type ?? null)}, expected "service_account")`);
  const field = (name: string): string => {
    const v = k[name];
    if (typeof v !== 'string' || v.trim() === '') throw new Error(`the service account key has no ${name}`);
    return v;
  };
  const privateKey = field('private_key');
  try {
    const key = crypto.createPrivateKey(privateKey);
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`a ${key.asymmetricKeyType ?? 'non-RSA'} key`);
  } catch (err) {
    throw new Error(`the service account key's private_key is not an RSA private key (${err instanceof Error ? err.message : String(err)})`);
  }
  return {
    clientEmail: field('client_email'),
    clientId: typeof k.client_id === 'string' ? k.client_id : '',
    privateKey,
    privateKeyId: typeof k.private_key_id === 'string' ? k.private_key_id : '',
    tokenUri: typeof k.token_uri === 'string' && k.token_uri !== '' ? k.token_uri : null,
  };
}

export interface ServiceAccountAuthOptions {
  clientEmail: string;
  privateKey: string;
  privateKeyId?: string;
  /** The user to act as (`sub`). */
  subject: string;
  scope: string;
  tokenUrl: string;
  eagerRefreshThresholdMillis: number;
}

/** googleapis' JWT client acting as `subject`, its token requests sent to `tokenUrl`. */
export function serviceAccountAuth(o: ServiceAccountAuthOptions): Auth.JWT {
  const jwt = new google.auth.JWT({
    email: o.clientEmail,
    key: o.privateKey,
    keyId: o.privateKeyId || undefined,
    scopes: [o.scope],
    subject: o.subject,
    eagerRefreshThresholdMillis: o.eagerRefreshThresholdMillis,
    forceRefreshOnFailure: true,
  });
  if (o.tokenUrl !== LIBRARY_TOKEN_URL) {
    const target = new URL(o.tokenUrl);
    jwt.transporter.interceptors.request.add({
      resolved: async (config) => {
        if (config.url.href === LIBRARY_TOKEN_URL) config.url = new URL(target.href);
        return config;
      },
    });
  }
  return jwt;
}

/** An `auth` error that says what the Workspace admin or the operator has to do. */
export function serviceAccountRefused(oauthError: string | undefined, text: string, clientEmail: string, subject: string, scope: string, cause: unknown): AdapterError {
  if (oauthError === 'unauthorized_client') {
    return new AdapterError(
      'auth',
      `the service account ${clientEmail} may not act as ${subject} (${text}): a Workspace admin must grant its client id domain-wide delegation for ${scope} (Admin console: Security > API controls > Domain-wide delegation)`,
      { cause },
    );
  }
  return new AdapterError('auth', `Google refused the service account ${clientEmail} acting as ${subject} (${oauthError ?? 'error'}: ${text}): the account needs new credentials (a current key)`, { cause });
}
