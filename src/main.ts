// The composition root: the one place that wires store, event bus and listeners together.
import path from 'node:path';
import pino from 'pino';
import type { Config } from './config/schema';
import { openDatabase, type Database } from './store/database';
import { PgEventBus } from './store/event-bus';
import { PgMailStore } from './store/pg-mail-store';
import { scheduleExpungeLogTrim } from './store/housekeeping';
import { startImapServer, type ListeningImap } from './imap/server';
import { DEFAULT_LIMITS, type Logger } from './imap/context';
import { ensureCertificate, readCertificate, type CertificateFiles } from './tls/certificate';
import type { MailStore } from './core/ports';
import { startSubmissionServer, type ListeningSubmission } from './submit/server';
import { OutboxWorker, DEFAULT_WORKER_OPTIONS } from './submit/worker';
import { SenderRegistry } from './submit/senders';
import { SmtpRelayFactory } from './submit/relay';
import { BackendSenderFactory } from './submit/backend-senders';
import { PgOutbox } from './store/outbox';
import { PgSendingAccounts } from './store/sending-accounts';
import { PgUrlauthKeys } from './store/urlauth-keys';
import { UrlAuthority } from './imap/urlauth/authority';
import { PgBackendSync } from './store/pg-backend-sync';
import { withBodyFetcher } from './store/body-cache';
import { SyncEngine, type SyncOptions } from './sync/engine';
import { loadMasterKey, MASTER_KEY_WARNING } from './sync/credentials';
import { PgPushStore } from './store/push-subscriptions';
import { createPushHub, startPush, type PushOverrides } from './push/setup';
import type { ListeningPush } from './push/server';
import { createGmailAdapter } from '../adapters/gmail';
import { createPop3Adapter } from '../adapters/pop3';
import { createGraphAdapter } from '../adapters/graph';
import { createGraphSender, GRAPH_SENDER_CAPABILITIES } from '../adapters/graph/sender';
import { createGmailSender, GMAIL_SENDER_CAPABILITIES } from '../adapters/gmail/sender';

/** Backend adapters by account kind: wired here only, never imported by the protocol layers. */
export const BACKEND_ADAPTERS = { pop3: createPop3Adapter, gmail: createGmailAdapter, graph: createGraphAdapter } as const;

export interface RunningMemgate {
  imap: ListeningImap;
  submission: ListeningSubmission;
  /** The push listener (backend change notifications); null when MEMGATE_PUSH_PORT is 0. */
  push: ListeningPush | null;
  store: MailStore;
  /** Backend sync (leases, polls, write-back, body cache). */
  sync: SyncEngine;
  database: Database;
  certificate: CertificateFiles;
  log: Logger;
  stop(): Promise<void>;
}

/** Port setting -> listener option: 0 in the settings disables; tests ask for 'ephemeral'. */
function listenerPort(value: number | 'ephemeral'): number | null {
  if (value === 'ephemeral') return 0;
  return value === 0 ? null : value;
}

export interface StartOverrides {
  imapPort?: number | 'ephemeral';
  imapsPort?: number | 'ephemeral';
  submissionPort?: number | 'ephemeral';
  submissionsPort?: number | 'ephemeral';
  /** How often the outbox worker looks for due messages (tests shorten it). */
  outboxPollMs?: number;
  log?: Logger;
  /** Tests set false to see how a remote (non-loopback) client is treated. */
  loopbackIsSecure?: boolean;
  /** Sync engine timings (tests shorten leases and scans). */
  sync?: Partial<SyncOptions>;
  /** Push listener port, public URL ('listener': its own) and timings (tests). */
  push?: PushOverrides;
}

/** Opens the store, then the listeners. Everything opened is closed again if a step fails. */
export async function startMemgate(config: Config, overrides: StartOverrides = {}): Promise<RunningMemgate> {
  const log: Logger = overrides.log ?? pino({ level: config.logLevel, base: { app: 'memgate' } });
  const dataDir = path.resolve(config.dataDir);
  // PostgreSQL's own chatter (initdb, checkpoints) is debug-level; memgate's notes are info.
  const dbLog = (msg: string): void => (msg.startsWith('postgres') ? log.debug(msg) : log.info(msg));
  const database = await openDatabase({ dataDir, databaseUrl: config.databaseUrl, log: dbLog });
  let bus: PgEventBus | null = null;
  try {
    bus = await PgEventBus.create(database.url, { onError: (err) => log.warn({ err }, 'event bus') });
    // Backend sync: adapters are wired here only; the store fetches uncached bodies through it.
    const masterKey = loadMasterKey(dataDir, config.masterKey);
    if (masterKey.generatedAt) log.warn(MASTER_KEY_WARNING(masterKey.generatedAt));
    // Push subscriptions only with a public URL; otherwise polling is the only mode.
    const pushStore = new PgPushStore(database.dataSource);
    const pushHub = createPushHub(config, pushStore, overrides.push);
    const sync = new SyncEngine(
      new PgBackendSync(database.dataSource, bus),
      BACKEND_ADAPTERS,
      masterKey.key,
      log,
      {
        leaseSeconds: config.syncLeaseSeconds,
        ...overrides.sync,
      },
      pushHub,
    );
    const store = withBodyFetcher(new PgMailStore(database.dataSource, bus), sync);
    // URLAUTH serves IMAP (GENURLAUTH, URLFETCH, CATENATE) and BURL on submission.
    const urlauth = new UrlAuthority(store, new PgUrlauthKeys(database.dataSource, masterKey.key));
    const certificate = await ensureCertificate(dataDir, config.tlsCert, config.tlsKey);
    if (certificate.generated) log.warn(`generated a self-signed TLS certificate: ${certificate.certPath}`);
    const imap = await startImapServer(
      {
        store,
        bus,
        log,
        limits: { ...DEFAULT_LIMITS, maxLiteralSize: config.maxLiteralSize },
        tls: readCertificate(certificate),
        allowPlaintextAuth: config.allowPlaintextAuth,
        loopbackIsSecure: overrides.loopbackIsSecure,
        urlauth,
      },
      {
        host: config.listen,
        port: listenerPort(overrides.imapPort ?? config.imapPort),
        tlsPort: listenerPort(overrides.imapsPort ?? config.imapsPort),
      },
    );
    // Submission: routing by the From address's account; adapters add their SenderFactory here.
    const outbox = new PgOutbox(database.dataSource, bus, { leaseSeconds: config.outboxLeaseSeconds });
    const sendingAccounts = new PgSendingAccounts(database.dataSource);
    // An account with an SMTP relay set sends through it; else Graph and Gmail accounts
    // send through their provider's API.
    const senders = new SenderRegistry([
      new SmtpRelayFactory(masterKey.key),
      new BackendSenderFactory(
        {
          graph: { capabilities: GRAPH_SENDER_CAPABILITIES, create: createGraphSender },
          gmail: { capabilities: GMAIL_SENDER_CAPABILITIES, create: createGmailSender },
        },
        masterKey.key,
        (accountId, sealed) => sendingAccounts.saveBackendCredentials(accountId, sealed),
      ),
    ]);
    const worker = new OutboxWorker(outbox, sendingAccounts, senders, log, {
      ...DEFAULT_WORKER_OPTIONS,
      concurrency: config.outboxConcurrency,
      delayNoticeMs: config.outboxDelayNotice * 1000,
      pollMs: overrides.outboxPollMs ?? DEFAULT_WORKER_OPTIONS.pollMs,
      retryBaseMs: config.outboxRetryBase * 1000,
    });
    let submission: ListeningSubmission;
    try {
      submission = await startSubmissionServer(
        {
          store,
          accounts: sendingAccounts,
          senders,
          outbox,
          log,
          maxMessageSize: config.maxMessageSize,
          giveUpAfterMs: config.outboxGiveUpAfter * 1000,
          allowPlaintextAuth: config.allowPlaintextAuth,
          loopbackIsSecure: overrides.loopbackIsSecure,
          onQueued: () => worker.kick(),
          burl: {
            // RFC 4468: the submission server fetches as the "submit+" identity of the user.
            async resolve(user, url) {
              const part = await urlauth.fetchAuthorized(url, { kind: 'submit', user });
              return part.wholeMessage && part.ownerId === user.id
                ? { bytes: part.bytes, draft: { mailboxId: part.mailboxId, uid: part.uid } }
                : { bytes: part.bytes };
            },
          },
        },
        {
          host: config.listen,
          port: listenerPort(overrides.submissionPort ?? config.submissionPort),
          tlsPort: listenerPort(overrides.submissionsPort ?? config.submissionsPort),
          tls: readCertificate(certificate),
        },
      );
    } catch (err) {
      await imap.close();
      throw err;
    }
    let push: ListeningPush | null;
    try {
      push = await startPush(config, overrides.push ?? {}, pushHub, {
        store: pushStore,
        deliver: (accountId, subscriptionId, body) => sync.deliverPush(accountId, subscriptionId, body),
        tls: readCertificate(certificate),
        masterKey: masterKey.key,
        log,
      });
    } catch (err) {
      await imap.close();
      await submission.close();
      throw err;
    }
    worker.start();
    sync.start();
    const openBus = bus;
    const stopTrimming = scheduleExpungeLogTrim(store, config.expungeLogDays, log);
    let stopping: Promise<void> | undefined;
    return {
      imap,
      submission,
      push,
      store,
      sync,
      database,
      certificate,
      log,
      stop() {
        stopping ??= (async () => {
          stopTrimming();
          await imap.close();
          await submission.close();
          await push?.close();
          await worker.stop();
          senders.close();
          await sync.stop();
          await openBus.close();
          await database.close();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await bus?.close();
    await database.close();
    throw err;
  }
}
