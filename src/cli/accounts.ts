// `memgate account add|list|status|remove`: backend accounts of gateway users.
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/load';
import { openDatabase } from '../store/database';
import { InProcessEventBus } from '../store/event-bus';
import { PgBackendSync, type BackendAccountRow } from '../store/pg-backend-sync';
import { loadMasterKey, MASTER_KEY_WARNING } from '../sync/credentials';
import { addGmailAccount, type GmailAddOptions } from './gmail-account';
import { addGraphAccount, type GraphAddOptions } from './graph-account';
import { readStdin } from './users';
import { savedLine, verifyAndSave } from './save-account';

async function withSync<T>(work: (sync: PgBackendSync, masterKey: Buffer) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const dataDir = path.resolve(config.dataDir);
  const key = loadMasterKey(dataDir, config.masterKey);
  if (key.generatedAt) process.stderr.write(`warning: ${MASTER_KEY_WARNING(key.generatedAt)}\n`);
  const db = await openDatabase({ dataDir, databaseUrl: config.databaseUrl });
  const bus = new InProcessEventBus();
  try {
    return await work(new PgBackendSync(db.dataSource, bus), key.key);
  } finally {
    await bus.close();
    await db.close();
  }
}

/** `60`, `60s`, `5m`, `1h` -> seconds. */
export function parseInterval(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h)?$/.exec(text.trim());
  if (!m) throw new Error(`invalid interval: ${text} (use e.g. 60s, 5m, 1h)`);
  const seconds = Number(m[1]) * (m[2] === 'h' ? 3600 : m[2] === 'm' ? 60 : 1);
  if (seconds < 1) throw new Error('the poll interval must be at least 1 s');
  return seconds;
}

/** Every option of `account add`: POP3's here, the OAuth kinds' in their own files. */
interface AddOptions extends GmailAddOptions, GraphAddOptions {
  host?: string;
  port?: string;
  username?: string;
  passwordStdin?: boolean;
  tls?: boolean;
  starttls?: boolean;
  insecure?: boolean;
  tlsFingerprint?: string;
  tlsServername?: string;
  pollInterval: string;
  deleteOnExpunge?: boolean;
}

function describe(row: BackendAccountRow): string {
  const s = row.settings;
  const where =
    typeof s.host === 'string' ? `${String(s.username ?? '')}@${s.host}:${String(s.port)}` : typeof s.address === 'string' ? s.address : typeof s.mailbox === 'string' ? s.mailbox : '';
  return `${row.id}\t${row.user_name}\t${row.kind}\t${row.label ?? '(primary)'}\t${where}`;
}

function stateLine(row: BackendAccountRow): string {
  switch (row.state) {
    case 'new':
      return 'waiting for the first sync';
    case 'syncing':
      return 'syncing';
    case 'idle':
      return 'idle';
    case 'degraded':
      return `degraded: ${row.reason ?? 'unknown reason'}`;
    case 'auth':
      return `needs new credentials: ${row.reason ?? ''}`;
    default:
      return row.state;
  }
}

export function accountCommands(program: Command): void {
  const account = program.command('account').description('manage backend accounts (POP3 maildrops, Gmail...) of gateway users');
  account
    .command('add <user> <kind>')
    .description('attach a backend account to a user (password from standard input)')
    .option('--host <host>', 'server host name')
    .option('--port <port>', 'server port')
    .option('--username <name>', 'login name at the server')
    .option('--password-stdin', 'read the password from standard input')
    .option('--tls', 'implicit TLS (pop3s)')
    .option('--starttls', 'upgrade with STLS')
    .option('--insecure', 'accept any server certificate (tests only: the connection can be intercepted)')
    .option('--tls-fingerprint <sha256>', 'pop3: accept exactly the certificate with this SHA-256 fingerprint (a self-signed server)')
    .option('--tls-servername <name>', 'pop3: the name the certificate must carry when it is not --host (a server reached by IP address)')
    .option('--poll-interval <interval>', 'how often to poll, e.g. 60s, 5m', '60s')
    .option('--delete-on-expunge', 'EXPUNGE in INBOX deletes the message at the server (DELE)')
    .option('--label <label>', 'folder prefix for a secondary account (default: the primary account)')
    .option('--replace <accountId>', 'give this existing account new credentials and settings (after "needs new credentials"); its mail, UIDs and flags stay')
    .option('--no-verify', 'do not log in to check the account before saving it')
    .option('--address <address>', 'gmail: the Gmail address (authorized with the device flow)')
    .option('--client-id <id>', 'gmail: Google OAuth client id (default $MEMGATE_GMAIL_CLIENT_ID)')
    .option('--client-secret <secret>', 'gmail: its secret (default $MEMGATE_GMAIL_CLIENT_SECRET)')
    .option('--api-url <url>', 'gmail: API root URL (default https://gmail.googleapis.com/)')
    .option('--token-url <url>', 'gmail: OAuth token endpoint')
    .option('--device-url <url>', 'gmail: OAuth device authorization endpoint')
    .option('--pubsub-topic <topic>', 'gmail: Pub/Sub topic for push (users.watch)')
    .option('--service-account <keyfile>', 'gmail: a service account key (JSON) with domain-wide delegation, acting as --address (Workspace)')
    .option('--mailbox <address>', 'graph: the Exchange Online mailbox')
    .option('--tenant <tenant>', 'graph: tenant id or domain')
    .option('--client-secret-stdin', 'graph: app-only sign-in, the client secret on standard input')
    .option('--certificate <file>', 'graph: app-only sign-in with a certificate: PEM with the certificate registered with the app and its private key')
    .option('--certificate-key <file>', 'graph: the private key (PEM) when it is not in the --certificate file')
    .option('--device-code', 'graph: delegated sign-in with the device-code flow (prints a code and a URL, waits)')
    .option('--graph-url <url>', 'graph: Graph base URL (default https://graph.microsoft.com)')
    .option('--login-url <url>', 'graph: login base URL (default https://login.microsoftonline.com)')
    .option('--ca-file <file>', 'CA certificates (PEM) to trust instead of the system ones (pop3: the ISP\'s CA or the server\'s own self-signed certificate; graph: for those URLs)')
    .action(async (user: string, kind: string, opts: AddOptions) => {
      if (kind === 'gmail') return addGmailAccount(user, opts, parseInterval(opts.pollInterval), withSync);
      if (kind === 'graph') return addGraphAccount(user, opts, parseInterval(opts.pollInterval), withSync);
      if (kind !== 'pop3') throw new Error(`unsupported account kind: ${kind} (available: pop3, gmail, graph)`);
      if (!opts.host) throw new Error('--host is required');
      if (!opts.username) throw new Error('--username is required');
      if (!opts.passwordStdin) throw new Error('give the password on standard input with --password-stdin');
      if (opts.tls && opts.starttls) throw new Error('choose one of --tls and --starttls');
      const security = opts.tls ? 'tls' : opts.starttls ? 'starttls' : 'none';
      if (security === 'none' && (opts.caFile || opts.tlsFingerprint || opts.tlsServername || opts.insecure)) {
        throw new Error('certificate options need --tls or --starttls');
      }
      const port = Number(opts.port ?? (security === 'tls' ? 995 : 110));
      if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port: ${opts.port}`);
      const password = await readStdin();
      if (password.length === 0) throw new Error('empty password');
      const settings = {
        host: opts.host,
        port,
        security,
        username: opts.username,
        insecure: opts.insecure === true,
        ...(opts.caFile ? { caPem: fs.readFileSync(opts.caFile, 'utf8') } : {}),
        ...(opts.tlsFingerprint ? { tlsFingerprint: opts.tlsFingerprint } : {}),
        ...(opts.tlsServername ? { tlsServername: opts.tlsServername } : {}),
        pollIntervalSeconds: parseInterval(opts.pollInterval),
        deleteOnExpunge: opts.deleteOnExpunge === true,
      };
      const credentials = { username: opts.username, password };
      const accountId = await verifyAndSave(
        { user, kind: 'pop3', label: opts.label ?? null, settings, credentials, verify: opts.verify, what: 'POP3 account', replace: opts.replace },
        withSync,
      );
      process.stdout.write(savedLine(accountId, user, opts.replace !== undefined));
    });
  account
    .command('list [user]')
    .description('list backend accounts')
    .action(async (user?: string) => {
      const rows = await withSync((sync) => sync.listAccounts(user));
      for (const row of rows) process.stdout.write(`${describe(row)}\t${row.state}\n`);
    });
  account
    .command('status [user]')
    .description('sync state of each backend account: progress, last success, counts')
    .action(async (user?: string) => {
      await withSync(async (sync) => {
        for (const row of await sync.listAccounts(user)) {
          const c = await sync.counts(row.id);
          const progress = c.messages > 0 && c.bodiesCached < c.messages ? ` (bodies ${c.bodiesCached}/${c.messages} fetched)` : '';
          process.stdout.write(
            [
              `${describe(row)}`,
              `  state:        ${stateLine(row)}${progress}`,
              `  last success: ${row.last_success_at ? row.last_success_at.toISOString() : 'never'}`,
              `  next poll:    ${row.next_run_at.toISOString()}${row.failures > 0 ? ` (after ${row.failures} failures)` : ''}`,
              `  messages:     ${c.messages} shown, ${c.hidden} hidden, ${c.bodiesCached} bodies cached, ${c.pendingWriteBacks} write-backs queued`,
              `  synced by:    ${row.lease_owner && row.lease_expires && row.lease_expires > new Date() ? row.lease_owner : 'no process'}`,
              ...(c.lastRenumbering
                ? [`  uidvalidity:  ${c.lastRenumbering.mailbox} got a new one ${c.lastRenumbering.at.toISOString()}: ${c.lastRenumbering.reason}`]
                : []),
              '',
            ].join('\n'),
          );
        }
      });
    });
  account
    .command('remove <user> <accountId>')
    .description('detach a backend account and remove its shadow data')
    .action(async (user: string, accountId: string) => {
      if (!/^\d+$/.test(accountId)) throw new Error(`invalid account id: ${accountId}`);
      await withSync((sync) => sync.removeAccount(user, accountId));
      process.stdout.write(`account ${accountId} removed from ${user}\n`);
    });
}
