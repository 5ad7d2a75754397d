// `memgate account add <user> gmail --address user@gmail.com`: Google's device flow (the
// CLI prints where to go and the code to type, then waits for consent), a probe that the
// grant is for that address, and the account saved with its refresh token encrypted.
// With `--service-account KEYFILE.json` (Workspace), the service account's key acts as the
// address through domain-wide delegation instead: no consent, the key saved encrypted.
import fs from 'node:fs';
import { AdapterError } from '../../adapters/contract';
import { GOOGLE_API_ROOT, GOOGLE_DEVICE_CODE_URL, GOOGLE_TOKEN_URL } from '../../adapters/gmail/client';
import { deviceAuthorization } from '../../adapters/gmail/oauth';
import { parseServiceAccountKey } from '../../adapters/gmail/service-account';
import { savedLine, verifyAndSave, type WithSync } from './save-account';

export interface GmailAddOptions {
  replace?: string;
  address?: string;
  clientId?: string;
  clientSecret?: string;
  apiUrl?: string;
  tokenUrl?: string;
  deviceUrl?: string;
  pubsubTopic?: string;
  serviceAccount?: string;
  label?: string;
  verify: boolean;
}


export async function addGmailAccount(user: string, opts: GmailAddOptions, pollIntervalSeconds: number, withSync: WithSync): Promise<void> {
  const address = opts.address?.trim();
  if (!address || !/^[^@\s]+@[^@\s]+$/.test(address)) throw new Error('--address <the Gmail address> is required');
  if (opts.serviceAccount) return addServiceAccount(user, address, opts.serviceAccount, opts, pollIntervalSeconds, withSync);
  const clientId = opts.clientId ?? process.env.MEMGATE_GMAIL_CLIENT_ID;
  const clientSecret = opts.clientSecret ?? process.env.MEMGATE_GMAIL_CLIENT_SECRET ?? '';
  if (!clientId) throw new Error('a Google OAuth client is required: --client-id (or MEMGATE_GMAIL_CLIENT_ID) and --client-secret (or MEMGATE_GMAIL_CLIENT_SECRET)');
  const tokenUrl = opts.tokenUrl ?? GOOGLE_TOKEN_URL;
  let tokens;
  try {
    tokens = await deviceAuthorization({
      clientId,
      clientSecret,
      deviceCodeUrl: opts.deviceUrl ?? GOOGLE_DEVICE_CODE_URL,
      tokenUrl,
      prompt: ({ verificationUrl, userCode, expiresInSeconds }) => {
        process.stdout.write(
          `To let memgate read ${address}, open ${verificationUrl} and enter the code ${userCode}\n` +
            `(signed in as ${address}; the code is valid for ${Math.round(expiresInSeconds / 60)} minutes). Waiting for consent...\n`,
        );
      },
    });
  } catch (err) {
    throw new Error(`Google authorization failed (${err instanceof AdapterError ? `${err.kind}: ${err.message}` : String(err)}); nothing was saved`);
  }
  const settings = {
    address,
    clientId,
    apiRootUrl: opts.apiUrl ?? GOOGLE_API_ROOT,
    tokenUrl,
    pollIntervalSeconds,
    ...(opts.pubsubTopic ? { pubsubTopic: opts.pubsubTopic } : {}),
  };
  const credentials = { refreshToken: tokens.refreshToken, clientSecret };
  const accountId = await verifyAndSave(
    { user, kind: 'gmail', label: opts.label ?? null, settings, credentials, verify: opts.verify, what: 'Gmail account', replace: opts.replace },
    withSync,
  );
  process.stdout.write(savedLine(accountId, user, opts.replace !== undefined, address));
}

/** A Workspace user through a service account with domain-wide delegation. */
async function addServiceAccount(user: string, address: string, keyFile: string, opts: GmailAddOptions, pollIntervalSeconds: number, withSync: WithSync): Promise<void> {
  let text: string;
  try {
    text = fs.readFileSync(keyFile, 'utf8');
  } catch (err) {
    throw new Error(`cannot read the service account key ${keyFile}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let key;
  try {
    key = parseServiceAccountKey(text);
  } catch (err) {
    throw new Error(`${keyFile}: ${err instanceof Error ? err.message : String(err)}; nothing was saved`);
  }
  const settings = {
    address,
    serviceAccountEmail: key.clientEmail,
    clientId: key.clientId,
    apiRootUrl: opts.apiUrl ?? GOOGLE_API_ROOT,
    tokenUrl: opts.tokenUrl ?? key.tokenUri ?? GOOGLE_TOKEN_URL,
    pollIntervalSeconds,
    ...(opts.pubsubTopic ? { pubsubTopic: opts.pubsubTopic } : {}),
  };
  const credentials = { privateKey: key.privateKey, privateKeyId: key.privateKeyId };
  const accountId = await verifyAndSave(
    { user, kind: 'gmail', label: opts.label ?? null, settings, credentials, verify: opts.verify, what: 'Gmail account', replace: opts.replace },
    withSync,
  );
  process.stdout.write(savedLine(accountId, user, opts.replace !== undefined, `${address}, as service account ${key.clientEmail}`));
}
