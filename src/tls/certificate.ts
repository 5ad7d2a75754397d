// The TLS certificate: the configured one, or a self-signed one generated on first start
// and kept in the data folder.
import fs from 'node:fs';
import path from 'node:path';
import selfsigned from 'selfsigned';

export interface CertificateFiles {
  certPath: string;
  keyPath: string;
  generated: boolean;
}

export async function ensureCertificate(dataDir: string, cert?: string, key?: string): Promise<CertificateFiles> {
  if (cert && key) return { certPath: cert, keyPath: key, generated: false };
  const dir = path.join(dataDir, 'tls');
  const certPath = path.join(dir, 'memgate.crt');
  const keyPath = path.join(dir, 'memgate.key');
  if (fs.existsSync(certPath) && fs.existsSync(keyPath)) return { certPath, keyPath, generated: false };
  fs.mkdirSync(dir, { recursive: true });
  const pems = await selfsigned.generate([{ name: 'commonName', value: 'memgate' }], {
    keySize: 2048,
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + 5 * 365 * 24 * 3600 * 1000),
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 2, value: 'localhost' }, { type: 7, ip: '127.0.0.1' }] }],
  });
  fs.writeFileSync(keyPath, pems.private, { mode: 0o600 });
  fs.writeFileSync(certPath, pems.cert);
  return { certPath, keyPath, generated: true };
}

export function readCertificate(files: CertificateFiles): { cert: Buffer; key: Buffer } {
  return { cert: fs.readFileSync(files.certPath), key: fs.readFileSync(files.keyPath) };
}
