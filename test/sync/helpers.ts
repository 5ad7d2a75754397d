// A whole memgate in this process with a fast sync engine (short scans, leases and backoff),
// plus helpers to attach a POP3 maildrop to a user the way `memgate account add` does.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../src/config/schema';
import { startMemgate, type RunningMemgate } from '../../src/main';
import { PgEventBus } from '../../src/store/event-bus';
import { PgBackendSync } from '../../src/store/pg-backend-sync';
import { encryptCredentials, loadMasterKey } from '../../src/sync/credentials';
import type { SyncOptions } from '../../src/sync/engine';
import type { PushOverrides } from '../../src/push/setup';
import { testDatabaseUrl } from '../support/db';
import { TestLog } from '../support/server';

export const FAST_SYNC: Partial<SyncOptions> = {
  scanMs: 100,
  leaseSeconds: 3,
  backoffBaseSeconds: 0.2,
  backoffMaxSeconds: 1,
  bodyFetchTimeoutMs: 5000,
};

export interface SyncServer {
  memgate: RunningMemgate;
  port: number;
  databaseUrl: string;
  dataDir: string;
  sync: PgBackendSync;
  log: TestLog;
  addPop3Account(user: string, pop3: { host: string; port: number; username: string; password: string }, extra?: Record<string, unknown>, label?: string | null): Promise<string>;
  stop(): Promise<void>;
}

export async function startSyncServer(
  opts: { databaseUrl?: string; dataDir?: string; sync?: Partial<SyncOptions>; settings?: Record<string, unknown>; push?: PushOverrides } = {},
): Promise<SyncServer> {
  const databaseUrl = opts.databaseUrl ?? (await testDatabaseUrl());
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-sync-'));
  const config = configSchema.parse({ dataDir, databaseUrl, logLevel: 'silent', ...opts.settings });
  const log = new TestLog();
  const memgate = await startMemgate(config, {
    imapPort: 'ephemeral',
    imapsPort: 0,
    submissionPort: 0,
    submissionsPort: 0,
    log,
    sync: { ...FAST_SYNC, ...opts.sync },
    push: opts.push,
  });
  const bus = await PgEventBus.create(databaseUrl);
  const sync = new PgBackendSync(memgate.database.dataSource, bus);
  const key = loadMasterKey(dataDir).key;
  return {
    memgate,
    port: memgate.imap.port!,
    databaseUrl,
    dataDir,
    sync,
    log,
    async addPop3Account(user, pop3, extra = {}, label = null) {
      const settings = { host: pop3.host, port: pop3.port, security: 'none', username: pop3.username, pollIntervalSeconds: 1, timeoutMs: 2000, ...extra };
      const credentials = { username: pop3.username, password: pop3.password };
      const { accountId } = await sync.addAccount({ userName: user, kind: 'pop3', label, settings, credentials: encryptCredentials(key, credentials) });
      return accountId;
    },
    async stop() {
      await bus.close();
      await memgate.stop();
    },
  };
}

/** Polls until `check` returns a truthy value, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => T | Promise<T>, timeoutMs = 15000, what = 'condition'): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

let seq = 0;
/** A CRLF message with a unique subject; `extra` lines go into the body. */
export function message(subject: string, body = 'Hello.'): Buffer {
  seq++;
  return Buffer.from(`From: a@example.org\r\nTo: b@example.org\r\nSubject: ${subject}\r\nMessage-ID: <m${seq}.${process.pid}@test>\r\n\r\n${body}\r\n`);
}
