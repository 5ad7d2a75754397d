// `memgate account add <user> graph --mailbox user@contoso.com --tenant T --client-id C`:
// app-only (the client secret on standard input, or --certificate FILE: the certificate
// registered with the app and its private key, for a tenant admin) or the device-code
// flow (--device-code: the CLI prints the code and the URL and waits for the person to
// approve). The Graph and login base URLs are settings (the emulator uses them); a probe
// checks the mailbox before anything is saved; credentials are stored encrypted.
import fs from 'node:fs';
import { deviceCodeSignIn, graphSettings } from '../../adapters/graph';
import { readCertificateCredential } from '../../adapters/graph/assertion';
import { GraphApi } from '../../adapters/graph/client';
import { readStdin } from './users';
import { savedLine, verifyAndSave, type WithSync } from './save-account';

export interface GraphAddOptions {
  replace?: string;
  mailbox?: string;
  tenant?: string;
  clientId?: string;
  clientSecretStdin?: boolean;
  /** PEM file with the certificate (and its key, unless --certificate-key). */
  certificate?: string;
  certificateKey?: string;
  deviceCode?: boolean;
  graphUrl?: string;
  loginUrl?: string;
  caFile?: string;
  label?: string;
  verify: boolean;
}


export async function addGraphAccount(user: string, opts: GraphAddOptions, pollIntervalSeconds: number, withSync: WithSync): Promise<void> {
  if (!opts.mailbox) throw new Error('--mailbox <user@tenant> is required');
  if (!opts.tenant) throw new Error('--tenant <tenant id or domain> is required');
  if (!opts.clientId) throw new Error('--client-id <application id> is required');
  if ([opts.deviceCode, opts.clientSecretStdin, opts.certificate !== undefined].filter(Boolean).length !== 1) {
    throw new Error('choose one of --client-secret-stdin or --certificate <file> (app-only) and --device-code (delegated)');
  }
  const settings: Record<string, unknown> = {
    mailbox: opts.mailbox,
    tenant: opts.tenant,
    clientId: opts.clientId,
    auth: opts.deviceCode ? 'device' : 'app',
    graphUrl: opts.graphUrl ?? 'https://graph.microsoft.com',
    loginUrl: opts.loginUrl ?? 'https://login.microsoftonline.com',
    pollIntervalSeconds,
    ...(opts.caFile ? { caPem: fs.readFileSync(opts.caFile, 'utf8') } : {}),
  };
  let credentials: Record<string, string>;
  if (opts.deviceCode) {
    const api = new GraphApi(graphSettings(settings), {}, { connections: 0, commands: 0, bytesIn: 0, bytesOut: 0 });
    try {
      const got = await deviceCodeSignIn(graphSettings(settings), api.postForm, (p) => {
        process.stdout.write(`${p.message || `To sign in, open ${p.verificationUri} and enter the code ${p.userCode}`}\n`);
        process.stdout.write(`code: ${p.userCode}\nurl:  ${p.verificationUri}\nwaiting for approval (up to ${Math.round(p.expiresIn / 60)} minutes)...\n`);
      });
      credentials = { refreshToken: got.refreshToken, scope: got.scope };
    } finally {
      api.dispose();
    }
  } else if (opts.certificate !== undefined) {
    const cert = readCertificateCredential(fs.readFileSync(opts.certificate, 'utf8'), opts.certificateKey ? fs.readFileSync(opts.certificateKey, 'utf8') : undefined);
    credentials = { certificatePem: cert.certificatePem, privateKeyPem: cert.privateKeyPem };
  } else {
    const secret = await readStdin();
    if (secret.length === 0) throw new Error('empty client secret');
    credentials = { clientSecret: secret };
  }
  const accountId = await verifyAndSave(
    { user, kind: 'graph', label: opts.label ?? null, settings, credentials, verify: opts.verify, what: 'Graph mailbox', replace: opts.replace },
    withSync,
  );
  process.stdout.write(savedLine(accountId, user, opts.replace !== undefined));
}
