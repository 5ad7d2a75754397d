// Test databases: every caller gets a fresh, empty database, all on ONE PostgreSQL per
// mocha run: the server in DATABASE_URL when set, else an embedded one started on first
// use in a temporary directory and stopped after the run.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from 'pg';
import { openDatabase, type Database } from '../../src/store/database';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/store/embedded-postgres';
import { PgEventBus } from '../../src/store/event-bus';
import { PgMailStore } from '../../src/store/pg-mail-store';
import { registerTeardown } from './setup';

interface TestServer {
  /** URL of a database on this server. */
  url(database: string): string;
}

let server: Promise<TestServer> | null = null;

function testServer(): Promise<TestServer> {
  server ??= process.env.DATABASE_URL ? Promise.resolve(externalServer(process.env.DATABASE_URL)) : embeddedServer();
  return server;
}

function externalServer(base: string): TestServer {
  return {
    url(database) {
      const u = new URL(base);
      u.pathname = '/' + encodeURIComponent(database);
      return u.toString();
    },
  };
}

async function embeddedServer(): Promise<TestServer> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'memgate-test-pg-'));
  const dir = path.join(root, 'pg');
  let embedded: EmbeddedServer | undefined;
  const cleanup = () => rmSync(root, { recursive: true, force: true });
  registerTeardown(async () => {
    await embedded?.stop();
    cleanup();
  });
  // Last resort when the run ends without the root hook (mocha `exit`, a crash): the
  // exit event allows no waiting, so signal the postmaster to quit immediately.
  process.once('exit', () => {
    try {
      const pid = Number(readFileSync(path.join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGQUIT');
    } catch {
      // already stopped
    }
    cleanup();
  });
  embedded = await startEmbeddedPostgres({ dir, fast: true });
  return embedded;
}

/** A fresh empty database; returns its URL. */
export async function testDatabaseUrl(): Promise<string> {
  const s = await testServer();
  const name = `t_${randomBytes(8).toString('hex')}`;
  const admin = new Client({ connectionString: s.url('postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  return s.url(name);
}

async function dropDatabase(url: string): Promise<void> {
  const s = await testServer();
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  const admin = new Client({ connectionString: s.url('postgres') });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

export interface TestStore {
  store: PgMailStore;
  bus: PgEventBus;
  db: Database;
  close(): Promise<void>;
}

/** A migrated fresh database with a store and a LISTENing bus on it. */
export async function openTestStore(): Promise<TestStore> {
  const url = await testDatabaseUrl();
  const db = await openDatabase({ dataDir: os.tmpdir(), databaseUrl: url });
  const bus = await PgEventBus.create(url);
  const store = new PgMailStore(db.dataSource, bus);
  return {
    store,
    bus,
    db,
    async close() {
      await bus.close();
      await db.close();
      // Keeps a shared DATABASE_URL server from filling up with test databases.
      await dropDatabase(url).catch(() => undefined);
    },
  };
}
