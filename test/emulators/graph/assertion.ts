// Client assertions (certificate credentials) as the Microsoft identity platform checks them:
// a JWT whose header names a certificate registered with the app by x5t (base64url SHA-1
// thumbprint) or x5t#S256, signed RS256 or PS256 with that certificate's key, for this token
// endpoint (aud), issued by and about the app (iss = sub = client_id), within its validity.
// Answers are null (accepted) or the AADSTS error Entra gives for the failure.
import { constants, createHash, verify, X509Certificate } from 'node:crypto';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Entra's tolerance for clock skew. */
const SKEW_SECONDS = 300;

export interface AssertionRefusal {
  error: 'invalid_client' | 'invalid_request';
  aadsts: number;
  description: string;
}

function decode(part: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function thumbprints(pem: string): { sha1: string; sha256: string } {
  const der = new X509Certificate(pem).raw;
  return { sha1: createHash('sha1').update(der).digest('base64url'), sha256: createHash('sha256').update(der).digest('base64url') };
}

export function checkAssertion(assertion: string, clientId: string, audience: string, certificates: readonly string[], now = Date.now()): AssertionRefusal | null {
  const malformed = (why: string): AssertionRefusal => ({ error: 'invalid_client', aadsts: 50027, description: `JWT token is invalid or malformed. ${why}` });
  const parts = assertion.split('.');
  if (parts.length !== 3) return malformed('The client assertion is not a signed JWT.');
  const header = decode(parts[0]);
  const claims = decode(parts[1]);
  if (header === null || claims === null) return malformed('The client assertion cannot be decoded.');
  const alg = header.alg;
  if (alg !== 'RS256' && alg !== 'PS256') return malformed(`Unsupported signing algorithm '${String(alg)}'.`);
  const x5t = typeof header.x5t === 'string' ? header.x5t : undefined;
  const x5tS256 = typeof header['x5t#S256'] === 'string' ? (header['x5t#S256'] as string) : undefined;
  if (x5t === undefined && x5tS256 === undefined) return malformed('The client assertion header names no certificate (x5t).');
  const cert = certificates.find((pem) => {
    const t = thumbprints(pem);
    return (x5t !== undefined && t.sha1 === x5t) || (x5tS256 !== undefined && t.sha256 === x5tS256);
  });
  if (cert === undefined) {
    return {
      error: 'invalid_client',
      aadsts: 700027,
      description: `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${Buffer.from(x5t ?? x5tS256 ?? '', 'base64url').toString('hex').toUpperCase()}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${clientId}'.]`,
    };
  }
  const key = new X509Certificate(cert).publicKey;
  const signed = Buffer.from(`${parts[0]}.${parts[1]}`);
  const signature = Buffer.from(parts[2], 'base64url');
  const ok = alg === 'RS256' ? verify('sha256', signed, key, signature) : verify('sha256', signed, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, signature);
  if (!ok) return { error: 'invalid_client', aadsts: 700027, description: 'Client assertion failed signature validation.' };
  if (claims.aud !== audience) {
    return { error: 'invalid_client', aadsts: 50013, description: `Assertion audience claim does not match the required value. The audience in the assertion was '${String(claims.aud)}' and the expected audience is '${audience}'.` };
  }
  if (claims.iss !== clientId || claims.sub !== clientId) {
    return { error: 'invalid_client', aadsts: 700021, description: "Client assertion application identifier doesn't match 'client_id' parameter." };
  }
  const t = Math.floor(now / 1000);
  const exp = Number(claims.exp);
  const nbf = claims.nbf === undefined ? undefined : Number(claims.nbf);
  if (!Number.isFinite(exp) || exp + SKEW_SECONDS < t || (nbf !== undefined && (!Number.isFinite(nbf) || nbf - SKEW_SECONDS > t))) {
    return { error: 'invalid_client', aadsts: 700024, description: 'Client assertion is not within its valid time range.' };
  }
  if (typeof claims.jti !== 'string' || claims.jti === '') return malformed('The client assertion has no jti.');
  return null;
}
