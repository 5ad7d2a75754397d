// Submission through a backend account: a whole memgate with submission, a fast outbox
// worker and a fast sync engine, users whose primary account is a Graph or Gmail emulator
// mailbox, and what the tests look at (the outbox, a mailbox's messages, the submitted bytes).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';
import MailComposer from 'nodemailer/lib/mail-composer';
import { configSchema } from '../../src/config/schema';
import { startMemgate, type RunningMemgate } from '../../src/main';
import { InProcessEventBus } from '../../src/store/event-bus';
import { PgBackendSync } from '../../src/store/pg-backend-sync';
import { testDatabaseUrl } from '../support/db';
import { TestLog } from '../support/server';
import { eventually, FAST_SYNC } from '../sync/helpers';

export interface SendingServer {
  memgate: RunningMemgate;
  databaseUrl: string;
  dataDir: string;
  submissionPort: number;
  imapPort: number;
  log: TestLog;
  stop(): Promise<void>;
}

/** Temporary failures are retried after 0.3 s (doubling) instead of a minute. */
export async function startSendingServer(opts: { databaseUrl?: string; dataDir?: string; settings?: Record<string, unknown> } = {}): Promise<SendingServer> {
  const databaseUrl = opts.databaseUrl ?? (await testDatabaseUrl());
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-send-'));
  const config = configSchema.parse({ dataDir, databaseUrl, logLevel: 'silent', outboxRetryBase: 0.3, ...opts.settings });
  const log = new TestLog();
  const memgate = await startMemgate(config, {
    imapPort: 'ephemeral',
    imapsPort: 0,
    submissionPort: 'ephemeral',
    submissionsPort: 0,
    outboxPollMs: 100,
    log,
    sync: FAST_SYNC,
  });
  return {
    memgate,
    databaseUrl,
    dataDir,
    submissionPort: memgate.submission.port!,
    imapPort: memgate.imap.port!,
    log,
    stop: () => memgate.stop(),
  };
}

/**
 * Mocha hooks for a suite: an emulator and a sending server (with these settings), stopped
 * after the suite (`check` runs last, e.g. the emulator's own complaints).
 */
export function sendingSuite<E extends { stop(): Promise<void> }>(
  startEmulator: () => Promise<E>,
  opts: { check?: (emu: E) => void; settings?: Record<string, unknown> } = {},
): { emu: E; server: SendingServer } {
  const suite = {} as { emu: E; server: SendingServer };
  before(async () => {
    suite.emu = await startEmulator();
    suite.server = await startSendingServer({ settings: opts.settings });
  });
  after(async () => {
    await suite.server?.stop();
    await suite.emu?.stop();
    if (suite.emu) opts.check?.(suite.emu);
  });
  return suite;
}

/** A gateway user (password `pw-<name>`) whose primary account is this backend account. */
export async function addBackendUser(
  server: Pick<SendingServer, 'memgate'>,
  name: string,
  account: { kind: 'graph' | 'gmail'; settings: Record<string, unknown>; credentials: Buffer },
): Promise<{ userId: string; accountId: string; password: string }> {
  const user = await server.memgate.store.createUser(name, `pw-${name}`);
  const bus = new InProcessEventBus();
  try {
    const { accountId } = await new PgBackendSync(server.memgate.database.dataSource, bus).addAccount({ userName: name, label: null, ...account });
    return { userId: user.id, accountId, password: `pw-${name}` };
  } finally {
    await bus.close();
  }
}

/** What nodemailer composes for these options, as bytes (to compare with what arrives). */
export function compose(options: ConstructorParameters<typeof MailComposer>[0]): Promise<Buffer> {
  return new MailComposer(options).compile().build();
}

/** Submits bytes with nodemailer over STARTTLS and AUTH PLAIN; resolves with the server's reply. */
export async function submitRaw(port: number, login: { user: string; pass: string }, envelope: { from: string; to: string[] }, raw: Buffer): Promise<string> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: login });
  try {
    return (await transport.sendMail({ envelope, raw })).response;
  } finally {
    transport.close();
  }
}

export interface OutboxRow {
  state: string;
  attempts: number;
  last_error: string | null;
  remote_reply: string | null;
  copy_filed: boolean;
}

export async function outboxRows(server: Pick<SendingServer, 'memgate'>): Promise<OutboxRow[]> {
  return server.memgate.database.dataSource.query('SELECT state, attempts, last_error, remote_reply, copy_filed FROM outbox ORDER BY id');
}

/** The raw messages of a user's mailbox, from the store (bodies not cached yet are fetched). */
export async function mailboxRaw(server: Pick<SendingServer, 'memgate'>, userId: string, name: string): Promise<Buffer[]> {
  const store = server.memgate.store;
  const mailbox = await store.getMailbox(userId, name);
  if (!mailbox) return [];
  const out: Buffer[] = [];
  for (const m of await store.listMessages(userId, mailbox.id)) out.push((await store.getContent(userId, m.contentId))!.raw);
  return out;
}

/** The first message that arrives in the user's INBOX (a DSN, in these tests), as text. */
export async function firstInInbox(server: Pick<SendingServer, 'memgate'>, userId: string): Promise<string> {
  const all = await eventually(async () => {
    const inbox = await mailboxRaw(server, userId, 'INBOX');
    return inbox.length > 0 ? inbox : null;
  }, 20000, 'a message in INBOX');
  return all[0]!.toString();
}
