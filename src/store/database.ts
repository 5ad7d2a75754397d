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
    migrationsRun: true,
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
  } catch (err) {
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
