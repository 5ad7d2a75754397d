// A memgate for benchmarks in its own process (forked by the bench scripts), so that the
// client's work neither steals the server's event loop nor shows in its memory figures.
// It starts the test server (fresh database on the embedded PostgreSQL), creates the
// users asked for, and answers the parent over IPC:
//   -> { type: 'start', users: [[name, password], ...] }   <- { type: 'ready', port, submissionPort }
//   -> { type: 'sending', user, addresses, relayPort }     <- { type: 'sending' }
//   -> { type: 'memory', gc: boolean }                     <- { type: 'memory', usage, sessions }
//   -> { type: 'stop' }                                    <- { type: 'stopped' } then exit
import { startTestServer, type TestServer } from '../../test/support/server';
import { mochaHooks } from '../../test/support/setup';
import { PgSendingAccounts } from '../../src/store/sending-accounts';

export interface MemoryReport {
  type: 'memory';
  usage: NodeJS.MemoryUsage;
  /** process.cpuUsage() of the server process (microseconds since its start). */
  cpu: NodeJS.CpuUsage;
  sessions: number;
}

type Request =
  | { type: 'start'; users: Array<[string, string]> }
  | { type: 'memory'; gc: boolean }
  | { type: 'sending'; user: string; addresses: string[]; relayPort: number }
  | { type: 'stop' };

let server: TestServer | null = null;

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
        server = await startTestServer();
        for (const [name, password] of msg.users) await server.addUser(name, password);
        send({ type: 'ready', port: server.port, submissionPort: server.memgate.submission.port });
      } else if (msg.type === 'sending') {
        // The user's primary account sends as these addresses through a relay on loopback.
        const user = (await server!.memgate.store.listUsers()).find((u) => u.name === msg.user);
        if (!user) throw new Error(`no user ${msg.user}`);
        await new PgSendingAccounts(server!.memgate.database.dataSource).updateSubmissionSettings(user.id, {
          addresses: msg.addresses,
          smtpRelay: { host: '127.0.0.1', port: msg.relayPort },
        });
        send({ type: 'sending' });
      } else if (msg.type === 'memory') {
        if (msg.gc) await gcHard();
        const report: MemoryReport = { type: 'memory', usage: process.memoryUsage(), cpu: process.cpuUsage(), sessions: server?.memgate.imap.sessions() ?? 0 };
        send(report);
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
