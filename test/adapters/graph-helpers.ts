// A memgate with the Graph emulator behind it: a user whose primary account is the
// emulator's mailbox (app-only sign-in, the emulator's URLs and CA as settings), and
// imapflow clients logged in as that user.
import { ImapFlow } from 'imapflow';
import { encryptCredentials, loadMasterKey } from '../../src/sync/credentials';
import { DEFAULT_CLIENT, startGraphEmulator, type GraphEmulator, type GraphEmulatorOptions } from '../emulators/graph/server';
import type { Mailbox as EmuMailbox } from '../emulators/graph/state';
import { eventually, startSyncServer, type SyncServer } from '../sync/helpers';

export interface GraphHarness {
  server: SyncServer;
  emu: GraphEmulator;
  stop(): Promise<void>;
}

export async function startGraphHarness(opts: { throttling?: GraphEmulatorOptions['throttling'] } = {}): Promise<GraphHarness> {
  const emu = await startGraphEmulator({ throttling: opts.throttling });
  const server = await startSyncServer();
  const harness: GraphHarness = {
    server,
    emu,
    async stop() {
      // harness.server: a test may have restarted the gateway.
      await harness.server.stop();
      await emu.stop();
    },
  };
  return harness;
}

/** For a describe block: a harness started before its tests and stopped after them. */
export function graphHarnessForSuite(opts: { throttling?: GraphEmulatorOptions['throttling'] } = {}): GraphHarness {
  const holder = {} as GraphHarness;
  before(async () => {
    Object.assign(holder, await startGraphHarness(opts));
  });
  after(async () => {
    // The holder's server: a test may have restarted the gateway.
    await holder.server?.stop();
    await holder.emu?.stop();
  });
  return holder;
}

let n = 0;

export interface GraphUser {
  user: string;
  password: string;
  userId: string;
  accountId: string;
  address: string;
  mailbox: EmuMailbox;
}

/** Settings of a Graph account on an emulator mailbox (app-only sign-in, the emulator's URLs and CA). */
export function graphAccountSettings(emu: GraphEmulator, address: string, settings: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mailbox: address,
    tenant: 'contoso.com',
    clientId: DEFAULT_CLIENT.clientId,
    auth: 'app',
    graphUrl: emu.baseUrl,
    loginUrl: emu.loginUrl,
    caPem: emu.ca,
    pollIntervalSeconds: 1,
    maxAttempts: 8,
    ...settings,
  };
}

/** Its credentials, sealed with the master key of `dataDir`. */
export function graphAccountCredentials(dataDir: string): Buffer {
  return encryptCredentials(loadMasterKey(dataDir).key, { clientSecret: DEFAULT_CLIENT.clientSecret });
}

/** A gateway user with a fresh emulator mailbox as its primary account. */
export async function graphUser(h: GraphHarness, settings: Record<string, unknown> = {}, seed?: (mb: EmuMailbox) => void): Promise<GraphUser> {
  const user = `g${++n}x${process.pid}`;
  const address = `${user}@contoso.com`;
  const mailbox = h.emu.state.addMailbox(address);
  seed?.(mailbox);
  const created = await h.server.memgate.store.createUser(user, 'imap-pass');
  const { accountId } = await h.server.sync.addAccount({
    userName: user,
    kind: 'graph',
    label: null,
    settings: graphAccountSettings(h.emu, address, settings),
    credentials: graphAccountCredentials(h.server.dataDir),
  });
  return { user, password: 'imap-pass', userId: created.id, accountId, address, mailbox };
}

export async function imap(h: GraphHarness, u: GraphUser): Promise<ImapFlow> {
  const client = new ImapFlow({ host: '127.0.0.1', port: h.server.port, secure: false, doSTARTTLS: false, auth: { user: u.user, pass: u.password }, logger: false });
  await client.connect();
  return client;
}

/** Rows of a mailbox straight from the store: uid, backend id, flags. */
export async function shadow(h: GraphHarness, u: GraphUser, mailbox: string): Promise<Array<{ uid: number; backendId: string | null; flags: string[] }>> {
  const rows = await h.server.memgate.database.dataSource.query(
    `SELECT mm.uid, b.backend_id, mm.flags FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id
       LEFT JOIN backend_messages b ON b.mailbox_id = mm.mailbox_id AND b.uid = mm.uid
      WHERE m.user_id = $1 AND m.name = $2 ORDER BY mm.uid`,
    [u.userId, mailbox],
  );
  return (rows as Array<{ uid: number; backend_id: string | null; flags: string[] }>).map((r) => ({ uid: r.uid, backendId: r.backend_id, flags: r.flags }));
}

/** The account synced, nothing left in its write-back queue. */
export async function accountIdle(h: GraphHarness, u: GraphUser): Promise<void> {
  await eventually(async () => (await h.server.sync.account(u.accountId))?.state === 'idle' && (await queued(h, u)) === 0, 20000, 'account idle, queue empty');
}

/** One more complete poll after now. */
export async function onePoll(h: GraphHarness, u: Pick<GraphUser, 'accountId'>): Promise<void> {
  const since = new Date();
  await eventually(async () => {
    const a = await h.server.sync.account(u.accountId);
    return a?.last_success_at && a.last_success_at > since && a.state === 'idle';
  }, 20000, 'a poll');
}

export async function queued(h: GraphHarness, u: GraphUser): Promise<number> {
  const [row] = await h.server.memgate.database.dataSource.query('SELECT count(*)::int AS n FROM writeback_queue WHERE account_id = $1', [u.accountId]);
  return (row as { n: number }).n;
}
