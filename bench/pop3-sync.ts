// POP3 sync benchmark (issue 3) against a private Dovecot POP3 server:
//  1. a plain RETR loop over the maildrop (one connection, RETR 1..N, no pipelining): the baseline;
//     and the same loop pipelined 8 deep, as memgate's sessions run it;
//  2. memgate's first sync of the same maildrop: when every message is listed (visible to
//     IMAP), when the newest 50 have their header (TOP: ENVELOPE and header fields answered),
//     when the newest 50 are readable, when every body is cached (messages/s);
//  3. a poll with nothing new: wall time of the engine's poll, POP3 commands and bytes.
// Usage: npm run build && node dist/bench/pop3-sync.js   (BENCH_POP3_N, default 10000)
import { performance } from 'node:perf_hooks';
import { createPop3Adapter, POP3_FOLDER } from '../adapters/pop3';
import { Pop3Client } from '../adapters/pop3/client';
import { mochaHooks } from '../test/support/setup';
import { dovecotAvailable, startDovecot } from '../test/support/dovecot';
import { startSyncServer } from '../test/sync/helpers';
import { machineInfo } from './lib/harness';
import { makeMessage } from './lib/messages';
import { runBench } from './lib/run';

const N = Number(process.env.BENCH_POP3_N ?? 10000);
/**
 * BENCH_POP3_STORAGE=external: the body column stored without TOAST compression in this
 * bench's database only, to see what compressing the bodies costs the first sync.
 */
const STORAGE = process.env.BENCH_POP3_STORAGE === 'external' ? 'EXTERNAL' : null;

async function until(check: () => Promise<boolean>): Promise<number> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 20));
  return performance.now();
}

async function main(): Promise<void> {
  if (!dovecotAvailable()) throw new Error('dovecot is not installed');
  console.log(machineInfo());
  const dovecot = await startDovecot({ users: { bench: 'bench-pass' } });
  let bytes = 0;
  for (let i = 0; i < N; i++) {
    const m = makeMessage(i);
    bytes += m.length;
    await dovecot.deliver('bench', m);
  }
  console.log(`maildrop: ${N} messages, ${(bytes / 1048576).toFixed(1)} MB`);

  // 1. plain RETR loop
  {
    const t0 = performance.now();
    const c = await Pop3Client.connect({ host: '127.0.0.1', port: dovecot.pop3Port, security: 'none' });
    await c.login('bench', 'bench-pass');
    const n = (await c.uidl()).length;
    for (let i = 1; i <= n; i++) await c.retr(i);
    await c.quit();
    const s = (performance.now() - t0) / 1000;
    console.log(`plain RETR loop: ${n} messages in ${s.toFixed(2)} s = ${(n / s).toFixed(0)} msg/s`);
  }
  // 1b. the same, pipelined as memgate's sessions are (8 RETRs in flight): the POP3 side's own ceiling
  {
    const t0 = performance.now();
    const c = await Pop3Client.connect({ host: '127.0.0.1', port: dovecot.pop3Port, security: 'none' });
    await c.login('bench', 'bench-pass');
    const numbers = (await c.uidl()).map((u) => u.n);
    await c.retrMany(numbers, async () => undefined);
    await c.quit();
    const s = (performance.now() - t0) / 1000;
    console.log(`pipelined RETR loop: ${numbers.length} messages in ${s.toFixed(2)} s = ${(numbers.length / s).toFixed(0)} msg/s`);
  }

  // 2. memgate first sync
  const server = await startSyncServer({ sync: { bodyBatch: 200, leaseSeconds: 30 } });
  try {
    const user = await server.memgate.store.createUser('bench', 'imap-pass');
    const q = <T>(sql: string, params: unknown[] = []): Promise<T[]> => server.memgate.database.dataSource.query(sql, params);
    /** Listed messages (the newest `newest`), those with a cached body, or with at least their header. */
    const count = async (cachedOnly: boolean | 'header', newest = 0): Promise<number> => {
      const where = cachedOnly === 'header' ? 'WHERE x.raw OR x.header' : cachedOnly ? 'WHERE x.raw' : '';
      const [r] = await q<{ n: string }>(
        `SELECT count(*) AS n FROM (SELECT c.raw IS NOT NULL AS raw, c.header IS NOT NULL AS header FROM mailbox_messages mm JOIN mailboxes m ON m.id = mm.mailbox_id
           JOIN message_contents c ON c.id = mm.content_id WHERE m.user_id = $1 AND m.name = 'INBOX'
           ORDER BY mm.uid DESC ${newest > 0 ? `LIMIT ${newest}` : ''}) x ${where}`,
        [user.id],
      );
      return Number(r.n);
    };
    if (STORAGE) await q(`ALTER TABLE message_contents ALTER COLUMN raw SET STORAGE ${STORAGE}`);
    const t0 = performance.now();
    const accountId = await server.addPop3Account(
      'bench',
      { host: '127.0.0.1', port: dovecot.pop3Port, username: 'bench', password: 'bench-pass' },
      { pollIntervalSeconds: 3600, timeoutMs: 30000 },
    );
    const listed = await until(async () => (await count(false)) === N);
    const headers = await until(async () => (await count('header', 50)) === 50);
    const newest = await until(async () => (await count(true, 50)) === 50);
    const all = await until(async () => (await count(true)) === N);
    const syncS = (all - t0) / 1000;
    console.log(`memgate first sync: all ${N} listed (visible) after ${((listed - t0) / 1000).toFixed(2)} s,` +
      ` newest 50 with their header (ENVELOPE, header fields) after ${((headers - t0) / 1000).toFixed(2)} s,` +
      ` newest 50 readable after ${((newest - t0) / 1000).toFixed(2)} s, all bodies cached after ${syncS.toFixed(2)} s = ${(N / syncS).toFixed(0)} msg/s`);

    // 3. polls with nothing new: the engine's whole poll, and its POP3 part alone
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await server.memgate.sync.pollNow(accountId);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const [row] = await q<{ cursor: string }>(`SELECT cursor ->> 'INBOX' AS cursor FROM account_sync WHERE account_id = $1`, [accountId]);
    const adapter = createPop3Adapter({ id: accountId, settings: { host: '127.0.0.1', port: dovecot.pop3Port, security: 'none' }, credentials: { username: 'bench', password: 'bench-pass' } });
    const t = performance.now();
    const session = await adapter.connect();
    const changes = await session.changes(POP3_FOLDER, row.cursor);
    await session.close();
    const popMs = performance.now() - t;
    console.log(`no-change poll: engine median ${times[2].toFixed(1)} ms (min ${times[0].toFixed(1)}, max ${times[4].toFixed(1)});` +
      ` POP3 part ${popMs.toFixed(1)} ms, ${changes.kind} with ${changes.kind === 'delta' ? changes.changes.length : '?'} changes,` +
      ` ${adapter.stats.connections} connection, ${adapter.stats.commands} commands (CAPA USER PASS UIDL QUIT),` +
      ` ${adapter.stats.bytesOut} bytes out, ${adapter.stats.bytesIn} bytes in`);
  } finally {
    await server.stop();
    await dovecot.stop();
    await mochaHooks.afterAll();
  }
}

runBench(main);
