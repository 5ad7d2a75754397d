// Gmail end-to-end helpers: a gateway user with a Gmail account on the emulator (as
// `memgate account add` stores it), an imapflow client logged in as that user, and a
// mailbox's message count that is -1 while the mailbox does not exist.
import { ImapFlow } from 'imapflow';
import { encryptCredentials, loadMasterKey } from '../../src/sync/credentials';
import type { GmailEmulator } from '../emulators/gmail/server';
import { gmailAccountCredentials, gmailAccountSettings, GMAIL_USER } from '../support/gmail';
import type { SyncServer } from './helpers';

export const IMAP_PASS = 'imap-pass';

/** Creates the gateway user and attaches the Gmail address to it; returns the account id. */
export async function addGmailUser(
  server: SyncServer,
  emu: GmailEmulator,
  opts: { user?: string; address?: string; settings?: Record<string, unknown> } = {},
): Promise<string> {
  const user = opts.user ?? 'alice';
  const address = opts.address ?? GMAIL_USER;
  await server.memgate.store.createUser(user, IMAP_PASS);
  const { accountId } = await server.sync.addAccount({
    userName: user,
    kind: 'gmail',
    label: null,
    settings: gmailAccountSettings(emu, { pollIntervalSeconds: 1, ...opts.settings }, address),
    credentials: encryptCredentials(loadMasterKey(server.dataDir).key, gmailAccountCredentials(emu, address)),
  });
  return accountId;
}

export async function imapLogin(server: SyncServer, user = 'alice'): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port: server.port, secure: false, doSTARTTLS: false, auth: { user, pass: IMAP_PASS }, logger: false });
  await client.connect();
  return client;
}

/** Messages in a mailbox by STATUS; -1 while it does not exist (or cannot be asked). */
export async function messageCount(client: ImapFlow, mailbox: string): Promise<number> {
  const st = await client.status(mailbox, { messages: true }).catch(() => false as const);
  return st ? (st.messages ?? 0) : -1;
}
