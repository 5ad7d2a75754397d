// `memgate account addresses|relay`: an account's sending settings (issue #7): the
// addresses submission lets the user send as, and the SMTP relay a POP3 (or local)
// account sends through, with its login sealed under the master key.
import type { Command } from 'commander';
import path from 'node:path';
import { loadConfig } from '../config/load';
import { openDatabase } from '../store/database';
import { PgSendingAccounts } from '../store/sending-accounts';
import type { SendingAccount } from '../submit/ports';
import { parseRelaySettings, relayTransport, type RelaySettings } from '../submit/relay';
import { decryptCredentials, encryptCredentials, loadMasterKey, MASTER_KEY_WARNING } from '../sync/credentials';
import { readStdin } from './users';

interface Target {
  accounts: PgSendingAccounts;
  userId: string;
  account: SendingAccount;
  masterKey: () => Buffer;
}

/** `ref` is an account id, an account's label, or `primary`. */
async function withAccount<T>(userName: string, ref: string, work: (t: Target) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const dataDir = path.resolve(config.dataDir);
  const db = await openDatabase({ dataDir, databaseUrl: config.databaseUrl });
  try {
    const accounts = new PgSendingAccounts(db.dataSource);
    const userId = await accounts.userIdByName(userName);
    if (!userId) throw new Error(`no such user: ${userName}`);
    const account = await accounts.findAccount(userId, ref);
    if (!account) throw new Error(`user ${userName} has no account ${ref} (give its id, its label or primary)`);
    const masterKey = (): Buffer => {
      const key = loadMasterKey(dataDir, config.masterKey);
      if (key.generatedAt) process.stderr.write(`warning: ${MASTER_KEY_WARNING(key.generatedAt)}\n`);
      return key.key;
    };
    return await work({ accounts, userId, account, masterKey });
  } finally {
    await db.close();
  }
}

/** `a@x, b@y,@z` -> lower-case addresses; `@domain` entries allow a whole domain. */
export function parseAddresses(text: string): string[] {
  const out = text
    .split(',')
    .map((a) => a.trim().toLowerCase())
    .filter((a) => a !== '');
  for (const a of out) {
    if (!/^[^\s@<>",]*@[a-z0-9-]+(\.[a-z0-9-]+)*$/i.test(a)) {
      throw new Error(`not an address: ${a} (use a@example.org, or @example.org for the whole domain)`);
    }
  }
  return [...new Set(out)];
}

function describeRelay(account: SendingAccount): string {
  const r = parseRelaySettings(account.settings.smtpRelay);
  if (!r) return 'none (this account cannot send)';
  const security = r.secure ? 'implicit TLS' : r.requireTLS ? 'STARTTLS required' : 'plain or opportunistic STARTTLS';
  const login = r.auth === 'none' ? 'no login' : r.auth === 'account' ? "the account's own login" : `its own login${account.sealed?.relay ? '' : ' (missing!)'}`;
  return `${r.host}:${r.port}, ${security}${r.rejectUnauthorized ? '' : ', certificate not checked'}, ${login}`;
}

interface RelayOptions {
  host?: string;
  port?: string;
  tls?: boolean;
  starttls?: boolean;
  insecure?: boolean;
  username?: string;
  passwordStdin?: boolean;
  accountLogin?: boolean;
  remove?: boolean;
  verify: boolean;
}

/** Logs in to the relay (EHLO, STARTTLS, AUTH) without sending anything. */
async function verifyRelay(settings: RelaySettings, login: { user: string; pass: string } | null): Promise<void> {
  const transport = relayTransport(settings, login, 15_000);
  try {
    await transport.verify();
  } finally {
    transport.close();
  }
}

export function sendingCommands(account: Command): void {
  account
    .command('addresses <user> <account>')
    .description('show or set the addresses an account (id, label or primary) may send as')
    .option('--set <addresses>', 'comma-separated addresses; @example.org allows the whole domain')
    .action(async (user: string, ref: string, opts: { set?: string }) => {
      const addresses = opts.set === undefined ? null : parseAddresses(opts.set);
      await withAccount(user, ref, async ({ accounts, userId, account }) => {
        const accountId = account.id;
        let current = account;
        if (addresses) {
          const updated = await accounts.updateSubmissionSettings(userId, { addresses }, accountId);
          if (!updated) throw new Error(`account ${accountId} is gone`);
          current = updated;
        }
        process.stdout.write(`account ${current.id} sends as: ${current.addresses.join(', ') || '(no address: it cannot send)'}\n`);
      });
    });
  account
    .command('relay <user> <account>')
    .description('show or set the SMTP relay an account (id, label or primary) sends through')
    .option('--host <host>', 'relay host name')
    .option('--port <port>', 'relay port (default 465 with --tls, else 587)')
    .option('--tls', 'implicit TLS (port 465 style)')
    .option('--starttls', 'require STARTTLS')
    .option('--insecure', 'accept a relay certificate that does not verify')
    .option('--username <name>', "the relay's login name")
    .option('--password-stdin', "read the relay's password from standard input")
    .option('--account-login', "log in with the account's own (backend) user name and password")
    .option('--remove', 'remove the relay: the account can no longer send')
    .option('--no-verify', 'do not log in to the relay to check the settings before saving them')
    .action(async (user: string, ref: string, opts: RelayOptions) => {
      await withAccount(user, ref, async ({ accounts, userId, account, masterKey }) => {
        const accountId = account.id;
        if (opts.remove) {
          await accounts.setRelay(userId, accountId, null, null);
          process.stdout.write(`account ${accountId}: relay removed; it can no longer send\n`);
          return;
        }
        if (!opts.host) {
          process.stdout.write(`account ${accountId} relay: ${describeRelay(account)}\n`);
          return;
        }
        if (opts.tls && opts.starttls) throw new Error('choose one of --tls and --starttls');
        if (opts.accountLogin && opts.username) throw new Error('choose one of --username and --account-login');
        if (opts.username && !opts.passwordStdin) throw new Error("give the relay's password on standard input with --password-stdin");
        if (opts.passwordStdin && !opts.username) throw new Error('--password-stdin needs --username');
        const port = Number(opts.port ?? (opts.tls ? 465 : 587));
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port: ${opts.port}`);
        const auth = opts.username ? 'relay' : opts.accountLogin ? 'account' : 'none';
        const settings = parseRelaySettings({
          host: opts.host,
          port,
          secure: opts.tls === true,
          requireTLS: opts.starttls === true,
          rejectUnauthorized: opts.insecure !== true,
          auth,
        });
        if (!settings) throw new Error('invalid relay settings');
        let login: { user: string; pass: string } | null = null;
        let sealed: Buffer | null = null;
        if (auth === 'relay') {
          const password = await readStdin();
          if (password.length === 0) throw new Error('empty password');
          login = { user: opts.username!, pass: password };
          sealed = encryptCredentials(masterKey(), { username: opts.username!, password });
        } else if (auth === 'account') {
          if (!account.sealed?.backend) throw new Error(`account ${accountId} has no backend login to reuse; give --username and --password-stdin`);
          const c = decryptCredentials(masterKey(), account.sealed.backend);
          login = { user: c.username, pass: c.password };
        }
        if (opts.verify) {
          try {
            await verifyRelay(settings, login);
          } catch (err) {
            throw new Error(`cannot use this relay (${err instanceof Error ? err.message : String(err)}); nothing was saved`);
          }
        }
        const updated = await accounts.setRelay(userId, accountId, { ...settings }, sealed);
        if (!updated) throw new Error(`account ${accountId} is gone`);
        process.stdout.write(`account ${accountId} relay: ${describeRelay(updated)}\n`);
      });
    });
}
