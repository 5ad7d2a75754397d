// Opening the store's database: an external server (DATABASE_URL) or the embedded one,
// then the TypeORM migrations. The schema comes from migrations only, never `synchronize`.
import 'reflect-metadata';
import path from 'node:path';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { startEmbeddedPostgres, type EmbeddedServer } from './embedded-postgres';
import { storeEntities } from './entities';

export interface Database {
  dataSource: DataSource;
  url: string;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** memgate's data folder; the embedded cluster lives in `<dataDir>/postgres`. */
  dataDir: string;
  /** An external server; when absent the embedded PostgreSQL is started. */
  databaseUrl?: string;
  log?: (msg: string) => void;
}

const DATABASE_NAME = 'memgate';

/** Compiled migrations sit in dist/migrations, two levels above this file's directory. */
export const MIGRATIONS_GLOB = path.join(__dirname, '..', '..', 'migrations', '*.js');

export function dataSourceOptions(url: string): DataSourceOptions {
  return {
    type: 'postgres',
    url,
    entities: storeEntities,
    migrations: [MIGRATIONS_GLOB],
    // openDatabase runs them itself, under a lock (see migrate); never `synchronize`.
    migrationsRun: false,
    synchronize: false,
    logging: false,
    // Every concurrent IMAP command may hold a connection for one transaction.
    extra: { max: 20 },
  };
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const log = opts.log ?? (() => undefined);
  let embedded: EmbeddedServer | undefined;
  let url = opts.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedPostgres({ dir: path.join(opts.dataDir, 'postgres'), log });
    try {
      await embedded.ensureDatabase(DATABASE_NAME);
    } catch (err) {
      await embedded.stop();
      throw err;
    }
    url = embedded.url(DATABASE_NAME);
  }
  const dataSource = new DataSource(dataSourceOptions(url));
  try {
    await dataSource.initialize();
    await migrate(dataSource, log);
  } catch (err) {
    if (dataSource.isInitialized) await dataSource.destroy().catch(() => undefined);
    await embedded?.stop();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    dataSource,
    url,
    close() {
      closed ??= (async () => {
        if (dataSource.isInitialized) await dataSource.destroy();
        await embedded?.stop();
      })();
      return closed;
    },
  };
}

/** Arbitrary constant naming memgate's migration lock among advisory locks. */
const MIGRATION_LOCK = 7_415_624_390;

/**
 * Runs pending migrations. Gateway processes are interchangeable and may start together
 * on a fresh database; TypeORM takes no lock of its own, so a session-level advisory lock
 * makes the second process wait and then find nothing left to do.
 */
async function migrate(dataSource: DataSource, log: (msg: string) => void): Promise<void> {
  const runner = dataSource.createQueryRunner();
  try {
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      const done = await dataSource.runMigrations({ transaction: 'each' });
      for (const m of done) log(`applied migration ${m.name}`);
    } finally {
      await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await runner.release();
  }
}
