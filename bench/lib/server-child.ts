// A memgate for benchmarks in its own process (forked by the bench scripts), so that the
// client's work neither steals the server's event loop nor shows in its memory figures.
// It starts the test server (fresh database on the embedded PostgreSQL), creates the
// users asked for, and answers the parent over IPC:
//   -> { type: 'start', users: [[name, password], ...], databaseUrl?, fastLogin?, settings? }
//                                                          <- { type: 'ready', port, tlsPort, submissionPort, databaseUrl }
//   -> { type: 'sending', user, addresses, relayPort, relay? } <- { type: 'sending' }
//   -> { type: 'memory', gc: boolean }                     <- { type: 'memory', usage, sessions }
//   -> { type: 'snapshot', path }                         <- { type: 'snapshot', path } (after gc)
//   -> { type: 'profile', action: 'start' }               <- { type: 'profile' }   CPU profiler on
//   -> { type: 'profile', action: 'stop', path }          <- { type: 'profile', path } .cpuprofile written
//   -> { type: 'stop' }                                    <- { type: 'stopped' } then exit
import { randomBytes, scryptSync } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector';
import { writeHeapSnapshot } from 'node:v8';
import { performance } from 'node:perf_hooks';
import { Session } from '../../src/imap/session';
import type { SelectedMailbox } from '../../src/imap/selected';
import { startTestServer, type TestServer } from '../../test/support/server';
import { mochaHooks } from '../../test/support/setup';
import { PgSendingAccounts } from '../../src/store/sending-accounts';

export interface MemoryReport {
  type: 'memory';
  usage: NodeJS.MemoryUsage;
  /** process.cpuUsage() of the server process (microseconds since its start). */
  cpu: NodeJS.CpuUsage;
  sessions: number;
  /** Open file descriptors of the server process (-1 unless gc was asked: counting takes a while). */
  fds: number;
  /** IDLE pushes (Session.snapshotChanged calls) so far, and when the last one ended (epoch ms). */
  pushes: number;
  lastPushAt: number;
}

// When did this process hand the last IDLE session its update? Counted around
// Session.snapshotChanged, which the shared mailbox view calls for each watching session.
let pushes = 0;
let lastPushAt = 0;
const snapshotChanged = Session.prototype.snapshotChanged;
Session.prototype.snapshotChanged = function (this: Session, sel: SelectedMailbox): void {
  snapshotChanged.call(this, sel);
  if (this.idling) {
    pushes++;
    lastPushAt = performance.timeOrigin + performance.now();
  }
};

type Request =
  | { type: 'start'; users: Array<[string, string]>; databaseUrl?: string; fastLogin?: boolean; settings?: Record<string, unknown> }
  | { type: 'memory'; gc: boolean }
  | { type: 'snapshot'; path: string }
  | { type: 'profile'; action: 'start' } | { type: 'profile'; action: 'stop'; path: string }
  | { type: 'sending'; user: string; addresses: string[]; relayPort: number; relay?: Record<string, unknown> }
  | { type: 'stop' };

let server: TestServer | null = null;

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

let inspector: InspectorSession | null = null;

/** CPU profile of a chosen stretch (the bench's rounds, not its setup). */
async function profile(msg: Extract<Request, { type: 'profile' }>): Promise<string | null> {
  const post = (method: string, params?: object) =>
    new Promise<unknown>((resolve, reject) => inspector!.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  if (msg.action === 'start') {
    inspector ??= new InspectorSession();
    inspector.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    await post('Profiler.start');
    return null;
  }
  const result = (await post('Profiler.stop')) as { profile: object };
  writeFileSync(msg.path, JSON.stringify(result.profile));
  inspector?.disconnect();
  return msg.path;
}

/**
 * Replaces the user's password hash with a cheap one (scrypt N=256 instead of 16384): the
 * IDLE benchmark logs in tens of thousands of times, and LOGIN's cost is not what it
 * measures. The stored string carries its parameters (src/store/passwords.ts), so
 * verification works unchanged.
 */
async function cheapenPassword(s: TestServer, name: string, password: string): Promise<void> {
  const salt = randomBytes(16);
  const key = scryptSync(password.normalize('NFC'), salt, 32, { N: 256, r: 8, p: 1 });
  const hash = ['scrypt', 256, 8, 1, salt.toString('base64'), key.toString('base64')].join('$');
  await s.memgate.database.dataSource.query('UPDATE users SET password_hash = $1 WHERE name = $2', [hash, name]);
}

function send(msg: object): void {
  process.send?.(msg);
}

async function gcHard(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return;
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

async function stop(): Promise<void> {
  try {
    await server?.stop();
  } finally {
    // Stops the embedded PostgreSQL that test/support/db.ts started for us.
    await mochaHooks.afterAll();
  }
}

process.on('message', (msg: Request) => {
  void (async () => {
    try {
      if (msg.type === 'start') {
        // With databaseUrl: one more memgate process on the database of another (scale-out).
        server = await startTestServer({ databaseUrl: msg.databaseUrl, settings: msg.settings });
        for (const [name, password] of msg.users) {
          await server.addUser(name, password);
          if (msg.fastLogin) await cheapenPassword(server, name, password);
        }
        send({
          type: 'ready',
          port: server.port,
          tlsPort: server.tlsPort,
          submissionPort: server.memgate.submission.port,
          databaseUrl: server.databaseUrl,
        });
      } else if (msg.type === 'sending') {
        // The user's primary account sends as these addresses through a relay on loopback.
        const user = (await server!.memgate.store.listUsers()).find((u) => u.name === msg.user);
        if (!user) throw new Error(`no user ${msg.user}`);
        await new PgSendingAccounts(server!.memgate.database.dataSource).updateSubmissionSettings(user.id, {
          addresses: msg.addresses,
          smtpRelay: { host: '127.0.0.1', port: msg.relayPort, ...msg.relay },
        });
        send({ type: 'sending' });
      } else if (msg.type === 'memory') {
        if (msg.gc) await gcHard();
        const report: MemoryReport = {
          type: 'memory',
          usage: process.memoryUsage(),
          cpu: process.cpuUsage(),
          sessions: server?.memgate.imap.sessions() ?? 0,
          // Counting descriptors takes a while with tens of thousands: only with the full report.
          fds: msg.gc ? openFds() : -1,
          pushes,
          lastPushAt,
        };
        send(report);
      } else if (msg.type === 'snapshot') {
        await gcHard();
        send({ type: 'snapshot', path: writeHeapSnapshot(msg.path) });
      } else if (msg.type === 'profile') {
        send({ type: 'profile', path: await profile(msg) });
      } else if (msg.type === 'stop') {
        await stop();
        send({ type: 'stopped' });
        process.disconnect?.();
        setTimeout(() => process.exit(0), 200).unref();
      }
    } catch (err) {
      send({ type: 'error', message: err instanceof Error ? err.stack ?? err.message : String(err) });
    }
  })();
});

process.on('disconnect', () => {
  // Parent gone without 'stop': clean up anyway.
  void stop().finally(() => process.exit(0));
});
