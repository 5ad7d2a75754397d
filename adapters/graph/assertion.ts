// Certificate credentials for app-only sign-in (Microsoft identity platform, client
// credentials with a certificate): instead of a secret, the token request carries a client
// assertion, a JWT signed (RS256) with the certificate's private key; its header names the
// certificate by x5t, the base64url SHA-1 thumbprint of its DER form, as registered with the
// app. Claims: aud = the token endpoint, iss = sub = the application id, a fresh jti, and a
// short validity (nbf .. exp).
import { createPrivateKey, randomUUID, sign, X509Certificate, type KeyObject } from 'node:crypto';
import { AdapterError } from '../contract';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** How long an assertion is valid (Entra accepts up to 10 minutes of clock skew and lifetime). */
const LIFETIME_SECONDS = 600;

export interface CertificateCredential {
  /** The certificate (PEM) registered with the app. */
  certificatePem: string;
  /** Its private key (PEM, PKCS#8 or PKCS#1, unencrypted). */
  privateKeyPem: string;
}

const base64url = (b: Buffer | string): string => Buffer.from(b).toString('base64url');

/** x5t: the base64url SHA-1 thumbprint of the certificate's DER encoding. */
export function thumbprint(cert: X509Certificate): string {
  return Buffer.from(cert.fingerprint.replace(/:/g, ''), 'hex').toString('base64url');
}

/**
 * Reads a certificate credential from PEM text (one file with the certificate and the key,
 * as Azure's tooling writes it, or two). Checks that the key belongs to the certificate and
 * that the certificate is valid now; errors say what is wrong.
 */
export function readCertificateCredential(pem: string, keyPem?: string): CertificateCredential {
  const certBlock = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (!certBlock) throw new AdapterError('unsupported', 'no certificate (-----BEGIN CERTIFICATE-----) in the certificate file');
  const keySource = keyPem ?? pem;
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(keySource)) throw new AdapterError('unsupported', 'the private key is encrypted: give it unencrypted (the stored copy is encrypted with the master key)');
  const keyBlock = /-----BEGIN (RSA )?PRIVATE KEY-----[\s\S]+?-----END (RSA )?PRIVATE KEY-----/.exec(keySource)?.[0];
  if (!keyBlock) throw new AdapterError('unsupported', 'no private key (-----BEGIN PRIVATE KEY-----) with the certificate');
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(certBlock);
    key = createPrivateKey(keyBlock);
  } catch (err) {
    throw new AdapterError('unsupported', `the certificate or its key cannot be read: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (key.asymmetricKeyType !== 'rsa') throw new AdapterError('unsupported', `the key is ${key.asymmetricKeyType ?? 'unknown'}; Microsoft's certificate credentials are RSA`);
  if (!cert.checkPrivateKey(key)) throw new AdapterError('unsupported', 'the private key does not belong to the certificate');
  const now = Date.now();
  if (Date.parse(cert.validTo) < now || Date.parse(cert.validFrom) > now) {
    throw new AdapterError('unsupported', `the certificate is not valid now (valid from ${cert.validFrom} to ${cert.validTo})`);
  }
  return { certificatePem: certBlock, privateKeyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

/** A signed client assertion for the token endpoint `audience`. */
export function clientAssertion(credential: CertificateCredential, clientId: string, audience: string, now = Date.now()): string {
  let cert: X509Certificate;
  let key: KeyObject;
  try {
    cert = new X509Certificate(credential.certificatePem);
    key = createPrivateKey(credential.privateKeyPem);
  } catch (err) {
    throw new AdapterError('auth', `needs new credentials: the stored certificate cannot be read (${err instanceof Error ? err.message : String(err)})`, { cause: err });
  }
  const iat = Math.floor(now / 1000);
  const header = { alg: 'RS256', typ: 'JWT', x5t: thumbprint(cert) };
  const claims = { aud: audience, iss: clientId, sub: clientId, jti: randomUUID(), nbf: iat, iat, exp: iat + LIFETIME_SECONDS };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  return `${input}.${base64url(sign('sha256', Buffer.from(input), key))}`;
}
