// Starts a whole memgate (store, event bus, IMAP listeners) in this process on ephemeral
// loopback ports, with a fresh database, for conversation tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { configSchema } from '../../src/config/schema';
import { startMemgate, type RunningMemgate } from '../../src/main';
import type { Logger } from '../../src/imap/context';
import { testDatabaseUrl } from './db';

export interface TestServer {
  memgate: RunningMemgate;
  port: number;
  tlsPort: number;
  databaseUrl: string;
  dataDir: string;
  /** Creates a user with the given password; returns its name. */
  addUser(name?: string, password?: string): Promise<{ user: string; password: string }>;
  stop(): Promise<void>;
}

/** Collects warnings and errors so tests can assert that bad input was not a crash. */
export class TestLog implements Logger {
  readonly errors: unknown[] = [];
  info(): void {}
  debug(): void {}
  warn(): void {}
  error(obj: object | string, msg?: string): void {
    this.errors.push({ obj, msg });
    if (process.env.MEMGATE_TEST_VERBOSE) console.error('memgate error:', obj, msg);
  }
}

let counter = 0;

export async function startTestServer(
  opts: { databaseUrl?: string; dataDir?: string; loopbackIsSecure?: boolean; settings?: Record<string, unknown> } = {},
): Promise<TestServer> {
  const databaseUrl = opts.databaseUrl ?? (await testDatabaseUrl());
  const dataDir = opts.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'memgate-test-'));
  const config = configSchema.parse({ dataDir, databaseUrl, logLevel: 'silent', ...opts.settings });
  const log = new TestLog();
  const memgate = await startMemgate(config, {
    imapPort: 'ephemeral',
    imapsPort: 'ephemeral',
    submissionPort: 'ephemeral',
    submissionsPort: 'ephemeral',
    outboxPollMs: 100,
    log,
    loopbackIsSecure: opts.loopbackIsSecure,
  });
  return {
    memgate,
    port: memgate.imap.port!,
    tlsPort: memgate.imap.tlsPort!,
    databaseUrl,
    dataDir,
    async addUser(name, password = 'secret-pass') {
      const user = name ?? `user${process.pid}x${++counter}`;
      await memgate.store.createUser(user, password);
      return { user, password };
    },
    async stop() {
      await memgate.stop();
    },
  };
}
