// Backend credentials at rest (invariant 8): AES-256-GCM under a master key from
// MEMGATE_MASTER_KEY (64 hex digits or 32 bytes of base64), else a key generated into the
// data folder on first use, with a warning that it must be kept and backed up.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../core/errors';

const VERSION = 1;
const KEY_FILE = 'master.key';

export interface MasterKey {
  key: Buffer;
  /** Set when this call created the key file. */
  generatedAt?: string;
}

export function parseMasterKey(text: string): Buffer {
  const t = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(t)) return Buffer.from(t, 'hex');
  const b = Buffer.from(t, 'base64');
  if (b.length === 32 && /^[A-Za-z0-9+/=_-]+$/.test(t)) return b;
  throw new ConfigError('MEMGATE_MASTER_KEY must be 32 bytes: 64 hex digits or base64');
}

/** The master key: from the setting, else from (or newly into) `<dataDir>/master.key`. */
export function loadMasterKey(dataDir: string, fromSetting?: string): MasterKey {
  if (fromSetting) return { key: parseMasterKey(fromSetting) };
  const file = path.join(dataDir, KEY_FILE);
  try {
    return { key: parseMasterKey(fs.readFileSync(file, 'utf8')) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = randomBytes(32);
  try {
    // wx: two processes starting together must not each write a different key.
    fs.writeFileSync(file, key.toString('hex') + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { key: parseMasterKey(fs.readFileSync(file, 'utf8')) };
    throw err;
  }
  return { key, generatedAt: file };
}

export const MASTER_KEY_WARNING = (file: string): string =>
  `generated a master key for backend credentials in ${file}: keep it (and back it up) or set MEMGATE_MASTER_KEY; without it stored credentials cannot be read`;

/** version(1) | iv(12) | tag(16) | ciphertext */
export function encryptCredentials(key: Buffer, credentials: Record<string, string>): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(JSON.stringify(credentials), 'utf8'), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

export function decryptCredentials(key: Buffer, blob: Buffer): Record<string, string> {
  if (blob.length < 29 || blob[0] !== VERSION) throw new ConfigError('stored credentials are in an unknown format');
  const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(1, 13));
  decipher.setAuthTag(blob.subarray(13, 29));
  try {
    const text = Buffer.concat([decipher.update(blob.subarray(29)), decipher.final()]).toString('utf8');
    return JSON.parse(text) as Record<string, string>;
  } catch (err) {
    throw new ConfigError('stored credentials cannot be decrypted with this master key', { cause: err });
  }
}
